"""The tables ``benchmarks/scale_out.py`` prints from its results."""

from __future__ import annotations


def by_engine(results: dict):
    """(engine label, W, measurements) for every engine and W measured."""
    for engine, by_w in results.items():
        for w, res in by_w.items():
            if engine == "mpi":
                for sched in ("static", "dynamic"):
                    yield f"mpi-{sched}", int(w), res[sched]
            else:
                yield engine, int(w), res


def rows(results: dict) -> list[tuple]:
    """(engine, W, efficiency equal, log-normal, greedy bound of log-normal,
    overhead dim 10, dim 1e6, bytes/worker); None where not measured."""
    table = []
    for engine, w, res in by_engine(results):
        if engine.startswith("mpi"):
            worker_bytes = res.get("bytes_worker")
        else:
            worker_bytes = pick(res, "overhead_dim10", "bytes", 1.0 / w)
        table.append((
            engine, w, pick(res, "equal", "efficiency"),
            pick(res, "lognormal", "efficiency"),
            pick(res, "lognormal", "greedy_efficiency"),
            pick(res, "overhead_dim10", "seconds", 1e3),
            pick(res, "overhead_dim1000000", "seconds", 1e3), worker_bytes,
        ))  # fmt: skip
    return table


def pick(res: dict, key: str, field: str, scale: float = 1.0) -> float | None:
    value = res.get(key, {}).get(field)
    return None if value is None else value * scale


def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def show(results: dict) -> None:
    print(
        "| engine | workers | efficiency, equal costs | efficiency, log-normal "
        "| greedy bound, log-normal | overhead/gen dim 10 (ms) "
        "| overhead/gen dim 1e6 (ms) | bytes/gen/worker |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for engine, w, *values in rows(results):
        specs = [".2f"] * 3 + [".1f"] * 2 + [".0f"]
        cells = [fmt(v, f) for v, f in zip(values, specs, strict=True)]
        print(f"| {engine} | {w} | " + " | ".join(cells) + " |")
    for engine, w, res in by_engine(results):
        if "cpu_all_ranks" in res:
            print(
                f"# {engine} W={w}, overhead run at dim 10: CPU per generation "
                f"{res['cpu_all_ranks'] * 1e3:.1f} ms over all ranks "
                f"(rank 0: {res['cpu_rank0'] * 1e3:.2f} ms)"
            )
    tails = [
        (engine, w, key, res[key]) for engine, w, res in by_engine(results)
        for key in res if key.startswith("lognormal_P")
    ]  # fmt: skip
    if not tails:
        return
    print(
        "\n| engine | workers | popsize | efficiency, log-normal | greedy bound "
        "| max(sum/W, longest) bound | dynamic / static throughput |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    static = {(w, key): r["seconds"] for e, w, key, r in tails if e == "mpi-static"}
    for engine, w, key, r in tails:
        ratio = static.get((w, key)) if engine == "mpi-dynamic" else None
        ratio = None if ratio is None else ratio / r["seconds"]
        print(
            f"| {engine} | {w} | {key[len('lognormal_P') :]} | {r['efficiency']:.2f} "
            f"| {r['greedy_efficiency']:.2f} | {r['floor_efficiency']:.2f} "
            f"| {fmt(ratio, '.2f')} |"
        )
