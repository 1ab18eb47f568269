"""Point 7: every frame is recorded per connection, with secrets redacted."""

from __future__ import annotations

import base64

from emulator.emulator_client import GEMINI_PATH, connect, start


async def test_frames_are_recorded_both_ways() -> None:
    async with start() as emu:
        async with connect(
            emu, GEMINI_PATH + "?key=secret-1&alt=x", [("Authorization", "Bearer secret-2")]
        ) as client:
            await client.setup(generationConfig={"responseModalities": ["TEXT"]})
            await client.send(
                {
                    "realtime_input": {
                        "audio": {
                            "data": base64.urlsafe_b64encode(b"\xff\xd8").decode(),
                            "mime_type": "audio/pcm",
                        }
                    }
                }
            )
            await client.send({"realtimeInput": {"text": "hi"}})
            conn = await emu.wait_for_connection(1)
            [done] = await conn.wait_for_sent("serverContent.turnComplete")
            assert done.get("usageMetadata.totalTokenCount")
        await conn.wait_closed()
    assert conn.closed
    assert conn.close_code == 1000
    assert conn.closed_by == "client"
    assert [f.data for f in conn.received][1:] == [
        {"realtime_input": {"audio": {"data": "_9g=", "mime_type": "audio/pcm"}}},
        {"realtimeInput": {"text": "hi"}},
    ]
    assert all(not f.binary for f in conn.received)
    assert conn.received[2].raw == b'{"realtimeInput": {"text": "hi"}}'
    assert conn.sent[0].raw == b'{\n  "setupComplete": {}\n}\n'
    assert conn.sent[0].data == {"setupComplete": {}}
    assert all(f.binary for f in conn.sent)
    assert conn.sent[-1].get("serverContent.turnComplete") is True
    text = repr(conn) + conn.path + repr(conn.headers)
    assert "secret" not in text
    assert conn.path.endswith("?key=REDACTED&alt=x")
    assert ("authorization", "Bearer REDACTED") in conn.headers
    assert conn.model_id == "gemini-live-2.5-flash-preview"
