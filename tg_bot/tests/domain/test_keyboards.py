from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.queue_messages import Button
from tg_bot.src.domain.keyboards import keyboard


def test_no_buttons_is_no_keyboard() -> None:
    assert keyboard([]) is None
    assert keyboard([[]]) is None


def test_callback_and_url_buttons_keep_their_rows() -> None:
    rows = [
        [Button(text="10 min", data="s:1:10"), Button(text="1 h", data="s:1:60")],
        [Button(text="Connect", url="https://example.com/auth")],
    ]
    assert keyboard(rows) == {
        "inline_keyboard": [
            [
                {"text": "10 min", "callback_data": "s:1:10"},
                {"text": "1 h", "callback_data": "s:1:60"},
            ],
            [{"text": "Connect", "url": "https://example.com/auth"}],
        ]
    }


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(
            st.builds(
                Button,
                text=st.text(min_size=1, max_size=64),
                data=st.none() | st.text(max_size=20),
            ),
            max_size=4,
        ),
        max_size=4,
    )
)
def test_every_sent_button_has_an_action(rows: list[list[Button]]) -> None:
    markup = keyboard(rows)
    if markup is None:
        return
    assert all(markup["inline_keyboard"])
    for row in markup["inline_keyboard"]:
        for button in row:
            assert button.get("callback_data") or button.get("url")
