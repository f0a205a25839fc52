"""/api/contacts: a customer's details for one business, saved with consent (phone in
E.164, e-mail checked), read and deleted by the service only for the user and business it
names, listed and deleted by the admin; `/forget` removes them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rest_service.app.phones import InvalidPhoneError, normalise_phone
from rest_service.app.settings import Settings as RestSettings
from rest_service.tests.conftest import Api, assert_error
from tests.tiers import examples

PATH = "/api/contacts/"
CONSENT = "I agree that Shop keeps my phone to call me back about my order."


def of(user: dict[str, Any], assistant: dict[str, Any]) -> str:
    return f"{PATH}of/{user['id']}/{assistant['id']}"


async def customer(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    return await api.user(), await api.assistant()


async def save(api: Api, path: str, **fields: Any) -> dict[str, Any]:
    body = {"consent_text": CONSENT, "name": "Anna", "phone": "+7 (912) 345-67-89", **fields}
    return await api.ok("PUT", path, api.service, json=body)


class TestAuth:
    async def test_the_service_token_reaches_only_a_named_customers_contact(self, api: Api) -> None:
        user, assistant = await customer(api)
        made = await save(api, of(user, assistant))
        assert_error(await api.http.get(PATH), 401)
        assert_error(await api.http.put(of(user, assistant), json={}), 401)
        for method, path in (
            ("GET", PATH),
            ("GET", f"{PATH}{made['id']}"),
            ("DELETE", f"{PATH}{made['id']}"),
        ):
            response = await api.http.request(method, path, headers=api.service)
            assert_error(response, 403, "forbidden")
        assert (await api.ok("GET", of(user, assistant), api.service))["id"] == made["id"]


class TestSave:
    async def test_a_save_normalises_the_phone_and_keeps_the_consent(self, api: Api) -> None:
        user, assistant = await customer(api)
        response = await api.http.put(
            of(user, assistant),
            headers=api.service,
            json={"consent_text": CONSENT, "name": " Anna ", "phone": "8 912 345 67 89"},
        )
        assert response.status_code == 201, response.text
        made = response.json()
        assert (made["name"], made["phone"], made["email"]) == ("Anna", "+79123456789", None)
        assert made["consent_text"] == CONSENT and made["consented_at"]
        again = await api.http.put(
            of(user, assistant),
            headers=api.service,
            json={"consent_text": "Yes, e-mail too.", "email": "Anna@Example.org"},
        )
        assert again.status_code == 200, again.text
        updated = again.json()
        assert updated["id"] == made["id"] and updated["phone"] == "+79123456789"
        assert updated["email"] == "Anna@example.org"
        assert updated["consent_text"] == "Yes, e-mail too."
        assert updated["consented_at"] >= made["consented_at"]

    async def test_a_bad_phone_or_email_is_a_422_naming_it(self, api: Api) -> None:
        user, assistant = await customer(api)
        path = of(user, assistant)
        for body, field in (
            ({"phone": "call me maybe"}, "phone"),
            ({"phone": "+7 999"}, "phone"),
            ({"email": "anna@"}, "email"),
            ({"name": "Anna", "consent_text": ""}, "consent_text"),
            ({"name": "A" * 201}, "name"),
        ):
            response = await api.http.put(
                path, headers=api.service, json={"consent_text": CONSENT, **body}
            )
            error = assert_error(response, 422)
            assert field in {f["field"] for f in error["fields"]}, error
        empty = await api.http.put(path, headers=api.service, json={"consent_text": CONSENT})
        assert_error(empty, 422)
        assert_error(await api.http.get(path, headers=api.service), 404)

    async def test_an_unknown_user_or_assistant_is_a_422_naming_it(self, api: Api) -> None:
        user, assistant = await customer(api)
        nobody = "00000000-0000-4000-8000-000000000000"
        for path, field in (
            (f"{PATH}of/{nobody}/{assistant['id']}", "user_id"),
            (f"{PATH}of/{user['id']}/{nobody}", "assistant_id"),
        ):
            body = {"consent_text": CONSENT, "name": "Anna"}
            error = assert_error(await api.http.put(path, headers=api.service, json=body), 422)
            assert error["fields"][0]["field"] == field

    async def test_contacts_are_per_business(self, api: Api) -> None:
        user, shop = await customer(api)
        salon = await api.assistant()
        await save(api, of(user, shop), name="Anna at the shop")
        assert_error(await api.http.get(of(user, salon), headers=api.service), 404)
        await save(api, of(user, salon), name="Anna at the salon")
        assert (await api.ok("GET", of(user, shop), api.service))["name"] == "Anna at the shop"
        await api.http.delete(of(user, shop), headers=api.service)
        assert_error(await api.http.get(of(user, shop), headers=api.service), 404)
        assert (await api.ok("GET", of(user, salon), api.service))["name"] == "Anna at the salon"
        assert_error(await api.http.delete(of(user, shop), headers=api.service), 404)


class TestAdmin:
    async def test_list_filter_get_and_delete(self, api: Api) -> None:
        user, assistant = await customer(api)
        made = await save(api, of(user, assistant), email="anna@example.org")
        other = await save(api, of(await api.user(), assistant), name="Boris", phone=None)
        listed = await api.http.get(f"{PATH}?assistant_id={assistant['id']}", headers=api.admin)
        assert listed.headers["X-Total-Count"] == "2"
        assert {c["id"] for c in listed.json()} == {made["id"], other["id"]}
        for query in ("q=example.org", "q=9123", f"user_id={user['id']}"):
            found = await api.ok("GET", f"{PATH}?{query}", api.admin)
            assert [c["id"] for c in found] == [made["id"]], query
        assert await api.ok("GET", f"{PATH}?q=100%25_", api.admin) == []
        path = f"{PATH}{made['id']}"
        assert (await api.ok("GET", path, api.admin))["phone"] == "+79123456789"
        assert (await api.http.delete(path, headers=api.admin)).status_code == 204
        assert_error(await api.http.get(path, headers=api.admin), 404)
        assert_error(await api.http.delete(path, headers=api.admin), 404)

    async def test_forget_removes_the_users_contacts_and_leads(self, api: Api) -> None:
        user, assistant = await customer(api)
        made = await save(api, of(user, assistant))
        lead = await api.ok(
            "POST",
            "/api/leads/interest",
            api.service,
            json={
                "user_id": user["id"],
                "assistant_id": assistant["id"],
                "conversation_key": user["id"],
            },
        )
        assert lead["contact_id"] == made["id"]
        assert (
            await api.http.delete(f"/api/users/{user['id']}", headers=api.admin)
        ).status_code == 204
        assert_error(await api.http.get(f"{PATH}{made['id']}", headers=api.admin), 404)
        assert_error(await api.http.get(f"/api/leads/{lead['id']}", headers=api.admin), 404)


#: How people write phone numbers, and what each is in E.164 (region RU by default).
WRITTEN = {
    "+7 (912) 345-67-89": "+79123456789",
    "8 912 345 67 89": "+79123456789",
    "8(912)345-67-89": "+79123456789",
    "8.912.345.67.89": "+79123456789",
    "+79123456789": "+79123456789",
    "00 44 20 7946 0958": "+442079460958",
    "+44 (0)20 7946 0958": "+442079460958",
    "+1-212-555-0123": "+12125550123",
    "+49 30 901820": "+4930901820",
}
GARBAGE = ["", "   ", "call me", "12", "+7 999", "+0 123 456", "8 912", "+7 912 345 67 89 00"]


def test_the_default_region_is_a_setting_refused_when_unknown() -> None:
    assert RestSettings(environment="test", phone_default_region="de").phone_default_region == "DE"
    with pytest.raises(ValidationError, match="region code"):
        RestSettings(environment="test", phone_default_region="XX")


def test_the_ways_people_write_a_phone_become_e164() -> None:
    for written, e164 in WRITTEN.items():
        assert normalise_phone(written, "RU") == e164, written
    assert normalise_phone("030 901820", "DE") == "+4930901820"
    for garbage in GARBAGE:
        try:
            normalise_phone(garbage, "RU")
        except InvalidPhoneError:
            continue
        raise AssertionError(f"{garbage!r} was taken as a phone number")


SEPARATORS = st.sampled_from([" ", "-", ".", "", "  "])


@st.composite
def spaced(draw: st.DrawFn) -> tuple[str, str]:
    """A known number re-written with any spacing, dashes or dots between its groups."""
    written, e164 = draw(st.sampled_from(sorted(WRITTEN.items())))
    groups = written.replace("-", " ").replace(".", " ").split()
    return draw(SEPARATORS).join(groups) if len(groups) > 1 else written, e164


@settings(max_examples=examples(60), deadline=None)
@given(case=spaced())
def test_any_spacing_of_a_number_is_the_same_number(case: tuple[str, str]) -> None:
    written, e164 = case
    assert normalise_phone(written, "RU") == e164


@settings(max_examples=examples(200), deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_is_a_number_in_e164_or_refused(text: str) -> None:
    try:
        number = normalise_phone(text, "RU")
    except InvalidPhoneError:
        return
    assert number.startswith("+") and number[1:].isdigit() and len(number) <= 16


@settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    phone=st.one_of(st.sampled_from(sorted(WRITTEN) + GARBAGE), st.text(max_size=40)),
    email=st.one_of(st.none(), st.emails(), st.text(max_size=40)),
)
async def test_any_phone_and_email_is_saved_normalised_or_refused_by_field(
    api: Api, phone: str, email: str | None
) -> None:
    user, assistant = await customer(api)
    body = {"consent_text": CONSENT, "phone": phone, "email": email}
    response = await api.http.put(of(user, assistant), headers=api.service, json=body)
    if response.status_code == 422:
        fields = {f["field"] for f in assert_error(response, 422)["fields"]}
        assert fields and fields <= {"phone", "email", "body"}, fields
        return
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["phone"] is None or saved["phone"][1:].isdigit()
