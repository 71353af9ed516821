"""The protocol's codec against msgspec's, on the frame the server handles most (a stroke's `extend`).

protocol.py decodes with the standard library's json and validates field by field in Python
(pgboard/wire_fields.py); msgspec decodes and validates in one pass in C into typed Structs. The
Structs here carry the same constraints (the id pattern, the board's bounds, 1 to MAX_POINTS points,
no unknown field), so the two do the same work. This measures what replacing the codec could save
per operation; it is not the server's codec (msgspec would be its one runtime dependency).
"""

from __future__ import annotations

import importlib.util
import time
from typing import Annotated, Any

from bench.report import table
from pgboard.protocol import BOARD_H, BOARD_W, MAX_POINTS, decode_frame, encode

FRAME = b'{"t":"extend","oid":"c1.123.1","id":"u1.55","points":[[1234,987],[1240,990]]}'
ROUNDS = 20_000


def _msgspec_codec() -> tuple[Any, Any]:
    import msgspec

    ident = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
    x = Annotated[int, msgspec.Meta(ge=0, le=BOARD_W)]
    y = Annotated[int, msgspec.Meta(ge=0, le=BOARD_H)]
    points = Annotated[list[tuple[x, y]], msgspec.Meta(min_length=1, max_length=MAX_POINTS)]

    # defstruct: the field types are objects here (this module's annotations are strings)
    common = {"tag_field": "t", "forbid_unknown_fields": True, "frozen": True}
    extend = msgspec.defstruct(
        "Extend",
        [("oid", ident), ("id", ident), ("points", points)]
        + [("seq", int, 0), ("author", str, ""), ("device", str, "")],
        tag="extend",
        **common,
    )
    delete = msgspec.defstruct("Delete", [("oid", ident), ("id", ident)], tag="delete", **common)
    return msgspec.json.Decoder(extend | delete), msgspec.json.Encoder()


def _per_call(fn: Any, arg: Any) -> float:
    """Microseconds a call, the best of three rounds."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            fn(arg)
        best = min(best, time.perf_counter() - t0)
    return 1e6 * best / ROUNDS


def measure() -> dict[str, tuple[float, float | None]]:
    """{step: (protocol.py us, msgspec us or None when msgspec is not installed)}."""
    msg = decode_frame(FRAME)
    ours = {"decode and validate": _per_call(decode_frame, FRAME), "encode": _per_call(encode, msg)}
    if importlib.util.find_spec("msgspec") is None:
        return {step: (us, None) for step, us in ours.items()}
    decoder, encoder = _msgspec_codec()
    struct = decoder.decode(FRAME)
    theirs = {
        "decode and validate": _per_call(decoder.decode, FRAME),
        "encode": _per_call(encoder.encode, struct),
    }
    return {step: (ours[step], theirs[step]) for step in ours}


def section() -> str:
    costs = measure()
    rows = []
    for step, (ours, theirs) in costs.items():
        rows.append(
            [
                step,
                f"{ours:.2f} us",
                "not installed" if theirs is None else f"{theirs:.2f} us",
                "-" if theirs is None else f"{ours / theirs:.1f}x",
            ]
        )
    return "\n".join(
        [
            "### The codec in C? protocol.py against msgspec",
            "",
            __doc__.split("\n\n", 1)[1].replace("\n", " ").strip()
            + f" Frame: `{FRAME.decode()}`; best of 3 rounds of {ROUNDS:,} calls.",
            "",
            table(["step", "protocol.py", "msgspec Structs", "protocol.py / msgspec"], rows),
        ]
    )


if __name__ == "__main__":
    print(section())
