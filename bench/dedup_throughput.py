"""Near-duplicate dedup throughput and quality of `pipeline.dedup` next to peer tools, one core.

    taskset -c 0 python bench/dedup_throughput.py --n 100000              # synthetic
    taskset -c 0 python bench/dedup_throughput.py --corpus real --peer-n 20000   # real prose

Builds one labelled corpus and runs every tool on the same documents, each in its own child
process so that peak memory is its own (peak RSS, and "+MiB": peak over the RSS after loading the
texts); thread variables are 1 (RAYON, OMP, MKL), so pin the run to one core with taskset.
docs/s divide by CPU seconds (`--clock cpu`, the default: a child's user + system time, steady
when other work shares the machine) or by wall seconds (`--clock wall`, on an idle machine).

- `--corpus synthetic` (`fakes.corpus.labelled_corpus`): N documents of ~400 words, 10% of them
  edited copies of another document with pair Jaccard spread over 0.1-1, deterministic by --seed;
- `--corpus real` (`bench/real_prose.py`): 20,000 documents of 300-500 words of real English
  technical prose (the installed packages' docstrings and the documentation of the sdists pinned
  in `bench/prose-sources.txt`), 10% labelled edited copies the same way; built once into
  --real-dir (the sdists downloaded once into .msm/bench/sdists).

Tools:

- ours, `msm dedup` process: the stage as the pipeline runs it (`msm dedup --input ... --out
  ...` in a fresh interpreter, Parquet in and out, datatrove steps on the default local
  executor), CPU (or wall) seconds of the whole process, start-up included, the median of 3
  runs; and the same on a one-document input (the fixed cost: interpreter, imports, executor,
  writing outputs);

- ours: exact keys, MinHash-LSH band keys and exact-Jaccard verification (what `msm dedup` runs
  between reading and writing Parquet), on all N documents and on the peer subsample;
- ours, full stage: `pipeline.dedup.stage.dedup` with Parquet in and out, on all N documents
  (its datatrove steps on the default local executor: 2 tasks, 1 worker);
- previous: the implementation this replaced (Python shingling, rensa token sets, dict bands,
  signature-estimated verification), on the peer subsample;
- datasketch MinHash(128 perms) + MinHashLSH(threshold 0.7), stock recipe (query every document,
  union every result), and the same with candidates verified on estimated Jaccard >= 0.7, on the
  peer subsample (--peer-n documents: whole labelled pairs plus unpaired documents, the same
  composition as the corpus);
- rensa stock: `RMinHashDeduplicator(threshold=0.7, num_perm=128, use_lsh=True).add_pairs` on
  whitespace tokens (its README's recipe), on the peer subsample;
- rensa's two recipes as a process: `bench/rensa_dedup.py` (a script from the documents file
  to the kept documents and the clusters, start-up and Parquet included) on all N documents,
  and on one document (its fixed cost), next to `msm dedup` as a process (median of 3 runs);
- rensa MinHash + LSH: one `RMinHash(128)` per document over its word 5-gram shingles, inserted
  into `RMinHashLSH(0.7, 128, 16 bands)`, every document queried and candidates kept on estimated
  Jaccard >= 0.7 (the datasketch recipe with rensa's objects), on the peer subsample;
- datatrove's MinHash recipe (signature, buckets, cluster; 14 x 8, 5-grams; sha1 shingle hash as
  its xxhash wrapper fails with the installed xxhash) on the subsample, if spaCy (its word
  splitter) is installed; skipped otherwise.

Quality: a labelled pair counts as found when both documents end in one cluster; recall over pairs
with exact word 5-gram Jaccard >= 0.8, false-found rate over pairs with Jaccard < 0.5.
`--memory-n 100000 200000` also runs ours alone on unlabelled corpora of those sizes and
extrapolates linearly to 1M documents.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config.params import load_params

DP = load_params(specs_dir=None).dedup


def clock() -> float:
    """CPU seconds of this process (`--clock cpu`, the default: steady on a shared machine), or
    wall seconds (`--clock wall`)."""
    return time.perf_counter() if os.environ.get("BENCH_CLOCK") == "wall" else time.process_time()


def rss_mib() -> float:
    """Peak resident memory since `reset_peak` (VmHWM; ru_maxrss where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Start peak-memory accounting afresh (Linux: writing 5 to clear_refs resets VmHWM)."""
    import gc

    gc.collect()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


# --- workers (child processes): read texts, time one tool, print JSON -------------------------


def run_ours(texts: list[str]) -> list[list[int]]:
    from pipeline.dedup import minhash as mh

    sk = mh.sketch(texts, DP.ngram, DP.bands, DP.rows)
    first = mh.exact_groups(sk.text_keys)
    kept = np.flatnonzero(first == np.arange(len(texts)))
    near = mh.link([texts[i] for i in kept.tolist()], sk.band_keys[kept], DP.ngram, DP.threshold)
    exact = [[int(first[i]), i] for i in np.flatnonzero(first != np.arange(len(texts))).tolist()]
    return exact + [[int(kept[i]) for i in g] for g in near]


def write_stage_input(texts: list[str], src: Path) -> list[str]:
    """A documents file of the record schema holding `texts`; returns the ids."""
    from pipeline.record import SCHEMA, write_documents

    n = len(texts)
    ids = [f"d{i:08d}" for i in range(n)]
    columns = {name: pa.array([""] * n) for name in SCHEMA.names}
    columns.update(id=pa.array(ids), text=pa.array(texts))
    columns.update(assertion_ids=pa.array([[]] * n, pa.list_(pa.string())))
    for name in ("seed", "input_tokens", "output_tokens"):
        columns[name] = pa.array([0] * n, pa.int64())
    src.parent.mkdir(parents=True, exist_ok=True)
    write_documents(pa.table(columns).cast(SCHEMA), src)
    return ids


def stage_groups(out: Path, texts: list[str], ids: list[str]) -> list[list[int]]:
    """The stage's near-duplicate clusters, and each exact duplicate paired with its survivor."""
    from pipeline.dedup import minhash as mh
    from pipeline.record import REJECT_SCHEMA, read_documents

    clusters = json.loads((out / "clusters.json").read_text())
    rejects = read_documents(out / "rejects.parquet", REJECT_SCHEMA)
    index = {d: i for i, d in enumerate(ids)}
    groups = [[index[m] for m in c["members"]] for c in clusters]
    n = len(texts)
    keys = [mh.text_keys(mh.word_hashes(texts[i : i + 4096])) for i in range(0, n, 4096)]
    first = mh.exact_groups(np.concatenate(keys)) if keys else []
    for d, reason in zip(rejects["id"].to_pylist(), rejects["reason"].to_pylist(), strict=True):
        if reason == "exact_duplicate":
            groups.append([int(first[index[d]]), index[d]])
    return groups


def run_stage(texts: list[str]) -> tuple[list[list[int]], float, float, float]:
    from pipeline.dedup.stage import dedup

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "documents.parquet"
        ids = write_stage_input(texts, src)
        reset_peak()  # the stage's own memory: not that of building its input
        base = rss_mib()
        t0 = clock()
        dedup(src, Path(tmp) / "out", DP)
        seconds = clock() - t0
        peak = rss_mib()
        groups = stage_groups(Path(tmp) / "out", texts, ids)
    return groups, seconds, base, peak


REPEAT = 3
"""Runs of each process measurement; the median counts. The first run after its input file was
written often pays 0.3-0.4 s more system time (the kernel still settling the new file's pages),
which a stage reading an earlier stage's output does not."""


def timed_process(cmd: list[str], what: str) -> float:
    """Run a command to the end in a fresh interpreter, `REPEAT` times: the median of its CPU
    seconds (user + system, with its children), or of its wall seconds with `--clock wall`."""
    os.sync()
    runs = []
    for _ in range(REPEAT):
        before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), check=False)
        wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise SystemExit(f"{what} failed:\n{proc.stderr[-3000:]}")
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        runs.append(wall if os.environ.get("BENCH_CLOCK") == "wall" else cpu)
    return float(np.median(runs))


def run_process(texts: list[str], tmp: Path) -> tuple[list[list[int]], float]:
    """`msm dedup` in a fresh interpreter, as the pipeline runs it, start-up included."""
    folder = tmp / f"process-{len(texts)}"
    ids = write_stage_input(texts, folder / "in" / "documents.parquet")
    msm = Path(sys.executable).with_name("msm")
    cmd = [str(msm), "dedup", "--input", str(folder / "in"), "--out", str(folder / "out")]
    seconds = timed_process([*cmd, "--stats", str(folder / "stats.json")], "msm dedup")
    return stage_groups(folder / "out", texts, ids), seconds


def run_peer_process(recipe: str, texts: list[str], tmp: Path) -> tuple[list[list[int]], float]:
    """`bench/rensa_dedup.py` (rensa's recipe as a script) in a fresh interpreter on the same
    documents file as `msm dedup`, start-up and Parquet included."""
    folder = tmp / f"rensa-{recipe}-{len(texts)}"
    write_stage_input(texts, folder / "in" / "documents.parquet")
    script = Path(__file__).with_name("rensa_dedup.py")
    cmd = [sys.executable, str(script), str(folder / "in" / "documents.parquet")]
    seconds = timed_process([*cmd, str(folder / "out"), "--recipe", recipe], "rensa_dedup.py")
    return json.loads((folder / "out" / "clusters.json").read_text()), seconds


def run_previous(texts: list[str]) -> list[list[int]]:
    """The implementation before this rewrite, kept here as the baseline."""
    import itertools
    import re
    from collections import defaultdict

    import rensa

    word = re.compile(r"\w+")

    def shingles(text: str, n: int) -> list[str]:
        words = word.findall(text.lower())
        if len(words) <= n:
            return [" ".join(words)]
        return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]

    num_perm = DP.bands * DP.rows
    sigs = np.asarray(
        rensa.RMinHash.digest_matrix_from_token_sets(
            (shingles(t, DP.ngram) for t in texts), num_perm=num_perm, seed=1234
        ).to_rows(),
        dtype=np.uint32,
    )
    pairs: set[tuple[int, int]] = set()
    for b in range(DP.bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        band = np.ascontiguousarray(sigs[:, b * DP.rows : (b + 1) * DP.rows])
        for i, key in enumerate(band):
            buckets[key.tobytes()].append(i)
        for members in buckets.values():
            if len(members) > 1:
                pairs.update((members[0], m) for m in members[1:])
                pairs.update(itertools.pairwise(members[1:]))
    return [[a, b] for a, b in pairs if float(np.mean(sigs[a] == sigs[b])) >= DP.threshold]


def run_datasketch(texts: list[str], verify: bool) -> list[list[int]]:
    from datasketch import MinHash, MinHashLSH

    from pipeline.dedup.minhash import shingles

    lsh = MinHashLSH(threshold=DP.threshold, num_perm=128)
    hashes = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=128, seed=1)
        m.update_batch([s.encode() for s in shingles(t, DP.ngram)])
        lsh.insert(i, m)
        hashes.append(m)
    groups = []
    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j > i and (not verify or m.jaccard(hashes[j]) >= DP.threshold):
                groups.append([i, j])
    return groups


def run_datatrove(texts: list[str]) -> list[list[int]]:
    """datatrove's MinHash recipe: signature, buckets, cluster steps (one rank), stock settings
    except the hash function: its xxhash wrapper fails on str with the installed xxhash."""
    import inspect

    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupSignature,
    )
    from datatrove.utils.hashing import HashConfig

    def drain(result) -> None:
        if inspect.isgenerator(result):
            for _ in result:
                pass

    cfg = MinhashConfig(
        n_grams=DP.ngram,
        num_buckets=DP.bands,
        hashes_per_bucket=DP.rows,
        hash_config=HashConfig(hash_fc="sha1"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        docs = (Document(text=x, id=str(i)) for i, x in enumerate(texts))
        drain(MinhashDedupSignature(output_folder=str(t / "sigs"), config=cfg).run(docs, 0, 1))
        buckets = MinhashDedupBuckets(
            input_folder=str(t / "sigs"), output_folder=str(t / "buckets"), config=cfg
        )
        for b in range(DP.bands):
            drain(buckets.run(None, b, DP.bands))
        drain(
            MinhashDedupCluster(
                input_folder=str(t / "buckets"),
                output_folder=str(t / "clusters"),
                config=cfg,
                save_cluster_id=True,
            ).run()
        )
        out = t / "clusters" / "000000.clusters"
        rows = np.frombuffer(out.read_bytes(), "<u4").reshape(-1, 2) if out.exists() else []
    groups: dict[int, list[int]] = {}
    for doc, cluster in rows:
        groups.setdefault(int(cluster), []).append(int(doc))
    return list(groups.values())


def run_rensa_stock(texts: list[str]) -> tuple[list[list[int]], float]:
    """Timed: `add_pairs` (keep flags). Untimed: which kept documents each dropped one matched."""
    import rensa

    t0 = clock()
    dedup = rensa.RMinHashDeduplicator(threshold=DP.threshold, num_perm=128, use_lsh=True)
    keep = dedup.add_pairs((str(i), t.split()) for i, t in enumerate(texts))
    seconds = clock() - t0
    dropped = [i for i, k in enumerate(keep) if not k]
    found = dedup.get_duplicate_sets([texts[i].split() for i in dropped])
    return [[i, *map(int, m)] for i, m in zip(dropped, found, strict=True)], seconds


def run_rensa_lsh(texts: list[str]) -> list[list[int]]:
    import rensa

    from pipeline.dedup.minhash import shingles

    lsh = rensa.RMinHashLSH(threshold=DP.threshold, num_perm=128, num_bands=16)
    hashes = []
    for i, t in enumerate(texts):
        m = rensa.RMinHash(num_perm=128, seed=42)
        m.update(shingles(t, DP.ngram))
        lsh.insert(i, m)
        hashes.append(m)
    groups = []
    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j > i and m.jaccard(hashes[j]) >= DP.threshold:
                groups.append([i, j])
    return groups


def worker(tool: str, data: Path) -> None:
    import logging

    logging.disable(logging.WARNING)
    from pipeline.dedup import minhash  # noqa: F401  (imports outside the timing)

    texts = pq.read_table(data).column("text").to_pylist()
    reset_peak()
    base = rss_mib()
    t0 = clock()
    if tool == "ours":
        groups = run_ours(texts)
    elif tool == "previous":
        groups = run_previous(texts)
    elif tool == "datasketch":
        groups = run_datasketch(texts, verify=False)
    elif tool == "datasketch_verified":
        groups = run_datasketch(texts, verify=True)
    elif tool == "datatrove":
        groups = run_datatrove(texts)
    elif tool == "rensa_stock":
        groups = run_rensa_stock(texts)
    elif tool == "rensa_lsh":
        groups = run_rensa_lsh(texts)
    else:
        raise SystemExit(f"unknown tool {tool}")
    seconds = clock() - t0
    if isinstance(groups, tuple):  # the tool timed its own part
        groups, seconds = groups
    print(json.dumps({"seconds": seconds, "base": base, "peak": rss_mib(), "groups": groups}))


# --- driver ----------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    threads = {k: "1" for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return {**os.environ, **threads}


def child(tool: str, texts: list[str], tmp: Path) -> dict:
    data = tmp / f"{tool}-{len(texts)}.parquet"
    pq.write_table(pa.table({"text": texts}), data)
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", tool, "--data", str(data)],
        capture_output=True,
        text=True,
        env=child_env(),
        check=False,
    )
    data.unlink()
    if proc.returncode:
        raise SystemExit(f"{tool} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def quality(groups: list[list[int]], pairs: list[tuple[int, int]], jac: np.ndarray) -> tuple:
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for g in groups:
        for m in g[1:]:
            a, b = find(g[0]), find(m)
            if a != b:
                parent[max(a, b)] = min(a, b)
    found = np.array([find(a) == find(b) for a, b in pairs])
    return float(found[jac >= 0.8].mean()), float(found[jac < 0.5].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="documents for ours")
    ap.add_argument("--peer-n", type=int, default=10_000, help="documents for the peer tools")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-n", type=int, nargs="*", default=[], help="sizes for ours' memory")
    ap.add_argument("--no-datatrove", dest="datatrove", action="store_false")
    ap.add_argument("--corpus", choices=("synthetic", "real"), default="synthetic")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="what docs/s divide")
    ap.add_argument(
        "--real-dir", type=Path, default=Path(".msm/bench/real_prose"), help="real-prose cache"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("BENCH_CLOCK", args.clock)
    if args.worker:
        if args.worker == "stage":
            texts = pq.read_table(args.data).column("text").to_pylist()
            groups, seconds, base, peak = run_stage(texts)
            print(json.dumps({"seconds": seconds, "base": base, "peak": peak, "groups": groups}))
            return
        worker(args.worker, args.data)
        return

    t0 = time.perf_counter()
    if args.corpus == "real":
        sys.path.insert(0, str(Path(__file__).parent))
        from real_prose import DEFAULT_N, load_or_build

        corpus = load_or_build(args.real_dir, n=DEFAULT_N, seed=args.seed)
    else:
        from fakes.corpus import labelled_corpus

        corpus = labelled_corpus(args.n, seed=args.seed)
    texts, pairs, jac = corpus.texts, corpus.pairs, corpus.jaccard
    words = np.mean([len(t.split()) for t in texts[:2000]])
    print(
        f"{args.corpus} corpus: {len(texts):,} documents, ~{words:.0f} words each, "
        f"{len(pairs):,} labelled pairs "
        f"({(jac >= 0.8).sum():,} with J>=0.8, {(jac < 0.5).sum():,} with J<0.5), "
        f"built in {time.perf_counter() - t0:.1f}s; dedup params {DP}"
    )
    # peer subsample: whole pairs plus unpaired documents, in the corpus' proportions
    k_pairs = min(len(pairs), round(args.peer_n * len(pairs) / len(texts)))
    in_pair = {i for p in pairs for i in p}
    chosen = sorted({i for p in pairs[:k_pairs] for i in p})
    singles = [i for i in range(len(texts)) if i not in in_pair][: args.peer_n - len(chosen)]
    sub = sorted(chosen + singles)
    where = {d: k for k, d in enumerate(sub)}
    sub_pairs = [(where[a], where[b]) for a, b in pairs[:k_pairs]]
    sub_jac = jac[:k_pairs]
    sub_texts = [texts[i] for i in sub]

    runs = [
        ("ours", "ours", texts, pairs, jac),
        ("ours, full stage (Parquet in/out)", "stage", texts, pairs, jac),
        ("ours (peer subsample)", "ours", sub_texts, sub_pairs, sub_jac),
        ("previous implementation (subsample)", "previous", sub_texts, sub_pairs, sub_jac),
        ("datasketch stock (subsample)", "datasketch", sub_texts, sub_pairs, sub_jac),
        (
            "datasketch + est. J>=0.7 (subsample)",
            "datasketch_verified",
            sub_texts,
            sub_pairs,
            sub_jac,
        ),
        ("rensa stock (subsample)", "rensa_stock", sub_texts, sub_pairs, sub_jac),
        ("rensa MinHash + LSH (subsample)", "rensa_lsh", sub_texts, sub_pairs, sub_jac),
    ]
    results = {}
    print(
        f"{'tool':40s} {'docs':>8s} {'docs/s':>9s} {'recall':>7s} {'false':>7s} "
        f"{'peak MiB':>9s} {'+MiB':>7s}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label, tx, pp, jj in (
            ("", texts, pairs, jac),
            (" (subsample)", sub_texts, sub_pairs, sub_jac),
        ):
            groups, seconds = run_process(tx, Path(tmp))
            rec, false = quality(groups, pp, jj)
            name = f"ours, msm dedup process{label}"
            results[name] = len(tx) / seconds
            print(
                f"{name:40s} {len(tx):8,d} {results[name]:9,.0f} {rec:7.4f} {false:7.4f}  "
                f"({args.clock} {seconds:.2f} s)"
            )
        _, fixed = run_process(texts[:1], Path(tmp))
        name = "ours, msm dedup process, 1 document"
        print(f"{name:40s} {1:8,d} {'':34s} ({args.clock} {fixed:.2f} s: the fixed cost)")
        processes = {"ours": results["ours, msm dedup process"]}
        for recipe, label in (("lsh", "rensa MinHash + LSH"), ("stock", "rensa stock")):
            groups, seconds = run_peer_process(recipe, texts, Path(tmp))
            rec, false = quality(groups, pairs, jac)
            processes[label] = len(texts) / seconds
            name = f"{label}, process"
            print(
                f"{name:40s} {len(texts):8,d} {processes[label]:9,.0f} {rec:7.4f} {false:7.4f}  "
                f"({args.clock} {seconds:.2f} s)"
            )
            _, one = run_peer_process(recipe, texts[:1], Path(tmp))
            name = f"{label}, process, 1 document"
            print(f"{name:40s} {1:8,d} {'':34s} ({args.clock} {one:.2f} s: the fixed cost)")
        for name, tool, tx, pp, jj in runs:
            r = child(tool, tx, Path(tmp))
            rec, false = quality(r["groups"], pp, jj)
            rate = len(tx) / r["seconds"]
            results[name] = rate
            print(
                f"{name:40s} {len(tx):8,d} {rate:9,.0f} {rec:7.4f} {false:7.4f} "
                f"{r['peak']:9,.0f} {r['peak'] - r['base']:7,.0f}"
            )
        try:
            import spacy  # noqa: F401

            has_spacy = True
        except ImportError:
            has_spacy = False
        if has_spacy and args.datatrove:
            name = "datatrove MinHash recipe (subsample)"
            r = child("datatrove", sub_texts, Path(tmp))
            rec, false = quality(r["groups"], sub_pairs, sub_jac)
            results[name] = len(sub_texts) / r["seconds"]
            print(
                f"{name:40s} {len(sub_texts):8,d} {results[name]:9,.0f} {rec:7.4f} {false:7.4f} "
                f"{r['peak']:9,.0f} {r['peak'] - r['base']:7,.0f}"
            )
        else:
            why = "--no-datatrove" if has_spacy else "spaCy (its word splitter) is not installed"
            print(f"datatrove MinHash recipe: skipped, {why}")
        ours_sub = results["ours (peer subsample)"]
        process_sub = results["ours, msm dedup process (subsample)"]
        peers = [n for n in results if not n.startswith("ours")]
        for name in peers:
            print(
                f"ratio ours/{name.split(' (')[0]}: {ours_sub / results[name]:.1f}x in-process, "
                f"{process_sub / results[name]:.1f}x as the msm dedup process (same docs)"
            )
        for label in ("rensa MinHash + LSH", "rensa stock"):
            print(
                f"ratio ours/{label}, both as processes (all {len(texts):,} docs): "
                f"{processes['ours'] / processes[label]:.1f}x"
            )
        mem = []
        for n in args.memory_n:
            mt = labelled_corpus(n, seed=args.seed + 1, measure=False).texts
            r = child("ours", mt, Path(tmp))
            del mt
            mem.append((n, r["peak"] - r["base"], r["peak"]))
            print(
                f"memory, ours on {n:,} docs: +{r['peak'] - r['base']:,.0f} MiB over the loaded "
                f"texts (peak RSS {r['peak']:,.0f} MiB), {n / r['seconds']:,.0f} docs/s"
            )
        small = [m for m in mem if m[0] < 1_000_000]
        if len(small) >= 2:
            (n1, d1, _), (n2, d2, _) = small[0], small[-1]
            slope = (d2 - d1) / (n2 - n1)
            print(
                f"EXTRAPOLATION (linear from {n1:,} and {n2:,}): ours on 1,000,000 docs needs "
                f"~{d1 + slope * (1_000_000 - n1):,.0f} MiB over the loaded texts "
                f"({slope * 1024 * 1024:,.0f} bytes/doc marginal)"
            )


if __name__ == "__main__":
    main()
