"""One message's turn as a straight pipeline, one module per step, each entered once:
`intake` (first reads, already answered?), `reading` (the message's files), `background`
(who is talking, in what language, with what context), `model` (the secretary and its tools,
or a held call said Yes to), `reply_form` (text or voice, with what is shown before it), then
`publish` (buttons from the tools' notes, queued once). `state.TurnState` is what they pass
on; `assistant/src/orchestrator.py` wires them."""
