"""What the compact profile encoding costs and saves, beside the JSON it wraps, in one run.

Reads a sample of the profile documents of a Redis (a ``riskwire evaluate`` run's), then
times, per profile and interleaved round by round so that the machine's noise falls on
both alike: the JSON work the worker does anyway (``model_validate_json`` when it loads a
profile, ``model_dump_json`` when it commits one) and the codec's ``encode`` and
``decode``. Prints sizes per deflate level too, and a last line::

    json_bytes=<n> stored_bytes=<n> ratio=<n> json_load_us=<n> json_dump_us=<n>
        encode_us=<n> decode_us=<n>   (one line)

    python -m cli.bench_codec redis://127.0.0.1:6379/0 [sample] [rounds]
"""

from __future__ import annotations

import statistics
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence

import zstandard

from processors.profiles import codec, zdict
from streams.profile import EnterpriseProfile, PersonProfile

Model = type[EnterpriseProfile] | type[PersonProfile]


def _model(doc: bytes) -> Model:
    return EnterpriseProfile if doc.startswith(b'{"uscc"') else PersonProfile


def _per_doc_us(work: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) / count * 1e6


def _sizes(docs: Sequence[bytes]) -> dict[str, float]:
    out: dict[str, float] = {}
    for level in (1, 3, 6, 9):
        fresh = zstandard.ZstdCompressionDict(codec.dictionary().as_bytes())  # not fixed to LEVEL
        packer = zstandard.ZstdCompressor(
            level=level, dict_data=fresh, write_checksum=False, write_dict_id=False
        )
        out[f"zstd level {level} with the dictionary"] = _mean(packer.compress(d) for d in docs)
    plain = zstandard.ZstdCompressor(level=codec.LEVEL, write_checksum=False)
    out[f"zstd level {codec.LEVEL} without it"] = _mean(plain.compress(d) for d in docs)
    out["zlib level 6 without it"] = _mean(zlib.compress(d, 6) for d in docs)
    return out


def _mean(blobs: Iterable[bytes]) -> float:
    sizes = [len(b) for b in blobs]
    return sum(sizes) / len(sizes)


def run(docs: Sequence[bytes], rounds: int) -> dict[str, float]:
    models = [(_model(d).model_validate_json(d), d) for d in docs]
    stored = [codec.encode(d) for d in docs]
    n = len(docs)
    times: dict[str, list[float]] = {k: [] for k in ("load", "dump", "encode", "decode")}
    for _ in range(rounds):
        times["load"].append(
            _per_doc_us(lambda: [_model(d).model_validate_json(d) for d in docs], n)
        )
        times["dump"].append(
            _per_doc_us(lambda: [m.model_dump_json(exclude_none=True) for m, _ in models], n)
        )
        times["encode"].append(_per_doc_us(lambda: [codec.encode(d) for d in docs], n))
        times["decode"].append(_per_doc_us(lambda: [codec.decode(s) for s in stored], n))
    json_bytes = sum(map(len, docs)) / n
    stored_bytes = sum(map(len, stored)) / n
    return {
        "json_bytes": json_bytes,
        "stored_bytes": stored_bytes,
        "ratio": json_bytes / stored_bytes,
        **{f"{k}_us": statistics.median(v) for k, v in times.items()},
    }


def main(argv: Sequence[str]) -> None:
    url = argv[0]
    sample = int(argv[1]) if len(argv) > 1 else 2000
    rounds = int(argv[2]) if len(argv) > 2 else 7
    docs = zdict.sample(url, sample, skip=zdict.SAMPLE)  # none the dictionary was built from
    for name, size in _sizes(docs).items():
        print(f"{name}: {size:.0f} B/profile")
    r = run(docs, rounds)
    print(
        f"json_bytes={r['json_bytes']:.0f} stored_bytes={r['stored_bytes']:.0f}"
        f" ratio={r['ratio']:.2f} json_load_us={r['load_us']:.1f}"
        f" json_dump_us={r['dump_us']:.1f} encode_us={r['encode_us']:.1f}"
        f" decode_us={r['decode_us']:.1f}"
    )


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
