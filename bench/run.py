#!/usr/bin/python3
"""dlc's benchmark against PyTorch and the machine's FMA peak (`make bench`).

Builds bench/gemm.cpp, bench/dlc_bench.cpp (the CMake target dlc_bench: the LLVM JIT)
and, per measure, the model's emitted C++ (`dlc compile`, then bench/emitted_bench.cpp
+ net.cpp) with g++ -O3 -march=native and docs/codegen.md's flags, then runs:
  1. the FMA peak and dlc's GEMM GFLOP/s (bench/gemm.cpp prints the `measure:` lines);
  2. every model measure for dlc's JIT, dlc's emitted C++ and PyTorch as separate
     processes, rotating their order from round to round so that load drifts hit all
     three, and reports the medians over the rounds with dlc/PyTorch ratios (> 1: dlc is
     better; latencies are inverted).
    usage: run.py [--build DIR] [--out DIR] [--rounds N] [--seconds S] [--only M1,M2,...] [--recurrent]
                  [--threads 2,1]
--build: where the dlc libraries are (default build/); --out: where the benchmark
binaries go (default BUILD/bench); --threads: the thread counts, one table each (a
count T other than 2 suffixes the measure names with _tT; PyTorch's figure at T is its
best configuration with at most T threads).
It first prints the machine (CPU model, the vector extensions that matter, the measured
FMA peak) and the OpenBLAS core type PyTorch runs with (torch_bench.py --choose-blas).
"""
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
MEASURES = ["train_mlp", "train_mlp_relu_adam", "train_cnn", "latency1_mlp", "latency1_cnn",
            "infer256_mlp", "infer256_cnn", "train_vgg_cifar", "infer64_vgg_cifar"]
# The recurrence issue's measures (bench/models/): LSTM/GRU(128) training over 100 and 400
# steps at batch 32, and batch-1 inference of a 100-step sequence. Run with --only
# (or --recurrent for all of them).
RECURRENT = ["train_lstm_t100", "train_lstm_t400", "train_gru_t100", "train_gru_t400", "latency1_lstm_t100",
             "latency1_gru_t100"]
WHO = ["jit", "cpp", "torch"]
# PyTorch runs in each of these configurations (its flag, the OpenMP wait policy) and its
# figure is the best configuration's median. The configuration is the first; on a
# quiet machine the others were measured faster: PASSIVE waiting makes 2-thread inference
# of the small CNN ~8x slower than one thread, and 2-thread MLP training ~1.9x slower than
# ACTIVE waiting.
TORCH_CONFIGS = [("t2-passive", ["--threads", "2"], "PASSIVE"),
                 ("t2-active", ["--threads", "2"], "ACTIVE"),
                 ("t1", ["--threads", "1"], "PASSIVE")]
# -Wno-restrict: GCC 12's false positives inside std::string at -O3.
# The flags docs/codegen.md recommends for emitted code: -fno-math-errno (g++ vectorises
# Adam's sqrt only without errno; no result changes) and, for g++ 12.2 with AVX-512, the
# move/store limits that avoid its wide-constant miscompile (CMakeLists.txt, DLC_NATIVE).
CXX = ["g++", "-std=c++20", "-O3", "-march=native", "-fno-math-errno", "-mmove-max=128",
       "-mstore-max=128", "-Wall", "-Wextra", "-Werror", "-Wno-restrict", "-I", ROOT, "-pthread"]


def arg(flag, default):
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


def compile_bench(out_dir, name, extra=()):
    exe = os.path.join(out_dir, name)
    cmd = CXX + [os.path.join(ROOT, "bench", name + ".cpp"), "-o", exe] + list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True)
    return (exe, None) if r.returncode == 0 else (None, r.stderr[-2000:])


def build_dlc_bench(build):
    """BUILD/bin/dlc_bench, the CMake target linked like dlc itself (brought up to date)."""
    r = subprocess.run(["cmake", "--build", build, "--target", "dlc_bench"], capture_output=True, text=True)
    exe = os.path.join(build, "bin", "dlc_bench")
    if r.returncode != 0 or not os.path.exists(exe):
        return None, f"cmake --build {build} --target dlc_bench failed: {(r.stdout + r.stderr)[-2000:]}"
    return exe, None


def emitted_spec(measure):
    """(model, dlc compile flags) of a measure's emitted program."""
    kind, model = measure.split("_", 1)
    if kind == "train":
        return model, ["--train"]
    return model, ["--batch", "1" if kind == "latency1" else kind[len("infer"):]]


def build_emitted(build, out_dir, measure):
    """dlc compile + g++ -O3 -march=native of the measure's model with bench/emitted_bench.cpp."""
    dlc = os.path.join(build, "bin", "dlc")
    if not os.path.exists(dlc):
        return None, f"{dlc} not built"
    model, flags = emitted_spec(measure)
    d = os.path.join(out_dir, "emitted", measure)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    path = os.path.join(ROOT, "examples", model + ".json")
    if not os.path.exists(path):
        path = os.path.join(ROOT, "bench", "models", model + ".json")
    r = subprocess.run([dlc, "compile", path, "-o",
                        os.path.join(d, "net.cpp")] + flags, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr[-2000:]
    exe = os.path.join(d, "emitted_bench")
    r = subprocess.run(CXX + ["-I", d, os.path.join(ROOT, "bench", "emitted_bench.cpp"),
                              os.path.join(d, "net.cpp"), "-o", exe], capture_output=True, text=True)
    return (exe, None) if r.returncode == 0 else (None, r.stderr[-2000:])


def run_one(cmd, measure, seconds, flags=(), wait=None):
    env = dict(os.environ, OMP_WAIT_POLICY=wait) if wait else None
    r = subprocess.run(cmd + [measure, "--seconds", str(seconds)] + list(flags), capture_output=True,
                       text=True, env=env)
    for line in r.stdout.splitlines():
        if line.startswith("result "):
            return float(line.split()[2])
    sys.stderr.write(f"  {os.path.basename(cmd[-1])} {measure} failed: {(r.stderr or r.stdout)[-400:]}\n")
    return None


def machine_lines():
    """The CPU model, core count and the instruction sets dlc's kernels and PyTorch's care about."""
    model, flags, cpus = "unknown CPU", set(), 0
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model, cpus = line.split(":", 1)[1].strip(), cpus + 1
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"]
    have = [f for f in wanted if f in flags]
    return [f"# machine: {model}, {cpus} logical CPUs",
            f"# flags: {' '.join(have)} (absent: {' '.join(f for f in wanted if f not in flags) or 'none'})"]


def load_line():
    return "load average " + open("/proc/loadavg").read().split()[0] + " (1 min)"


def suffixed(measure, threads):
    return measure if threads == 2 else f"{measure}_t{threads}"


def main():
    build = os.path.abspath(arg("--build", os.path.join(ROOT, "build")))
    rounds, seconds = int(arg("--rounds", "3")), float(arg("--seconds", "1.5"))
    only = arg("--only", ",".join(RECURRENT if "--recurrent" in sys.argv else MEASURES)).split(",")
    thread_counts = [int(t) for t in arg("--threads", "2,1").split(",")]
    out_dir = os.path.abspath(arg("--out", os.path.join(build, "bench")))
    os.makedirs(out_dir, exist_ok=True)
    print(f"# dlc benchmark, {load_line()}", flush=True)
    for line in machine_lines():
        print(line, flush=True)

    gemm, why = compile_bench(out_dir, "gemm")
    if gemm:
        subprocess.run([gemm, str(max(thread_counts)), "0.3"], check=False)
    else:
        print(f"# bench/gemm.cpp did not build:\n{why}")

    dlc, why = build_dlc_bench(build)
    if dlc is None:
        print(f"# dlc JIT measures NOT AVAILABLE: {why}", flush=True)
    torch_cmd = [PY, os.path.join(ROOT, "bench", "torch_bench.py")]
    r = subprocess.run(torch_cmd + ["--choose-blas", "--threads", str(max(thread_counts))], capture_output=True, text=True)
    core = "auto"
    for line in r.stdout.splitlines():
        if line.startswith("blas "):
            core = line.split()[1]
        else:
            print(line)
    print(f"# torch: OPENBLAS_CORETYPE={core} (the fastest correct core type above; the environment's "
          f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')} is not inherited)", flush=True)
    blas = ["--openblas-coretype", core]
    env_note = ("torch: flush_denormal, best of " + ", ".join(c[0] for c in TORCH_CONFIGS) +
                " (threads, OMP_WAIT_POLICY)")
    print(f"# {rounds} rounds of {seconds} s per measure, rotating processes; {env_note}")
    tables = {}
    for measure in only:
        emitted, why = build_emitted(build, out_dir, measure)
        if emitted is None:
            print(f"# {measure}: emitted C++ NOT AVAILABLE: {why}", flush=True)
        for threads in thread_counts:
            name = suffixed(measure, threads)
            tflag = ["--threads", str(threads)]
            cmds = {"jit": [dlc] if dlc else None, "cpp": [emitted] if emitted else None}
            configs_here = [c for c in TORCH_CONFIGS if int(c[1][1]) <= threads]
            vals = {k: [] for k in WHO}
            torch_vals = {c[0]: [] for c in configs_here}
            for r in range(rounds):
                for who in WHO[r % 3:] + WHO[:r % 3]:
                    if who == "torch":
                        for cname, flags, wait in configs_here:
                            v = run_one(torch_cmd, measure, seconds, flags + blas, wait)
                            if v is not None:
                                torch_vals[cname].append(v)
                    elif cmds[who] is not None:
                        v = run_one(cmds[who], measure, seconds, tflag)
                        if v is not None:
                            vals[who].append(v)
            result = {k: statistics.median(v) if v else None for k, v in vals.items()}
            configs = {k: statistics.median(v) for k, v in torch_vals.items() if v}
            if configs:
                better = min if measure.startswith("latency") else max
                best = better(configs, key=configs.get)
                result["torch"], result["torch_config"] = configs[best], best
                print(f"# {name} torch: " + ", ".join(f"{k}={v:.1f}" for k, v in configs.items()) +
                      f" (best: {best})", flush=True)
            report(name, measure, result)
            tables.setdefault(threads, {})[name] = result
    for threads in thread_counts:
        print(f"\n{threads} thread{'s' if threads > 1 else ''}:")
        print_table(tables.get(threads, {}))
    print(f"# done, {load_line()}")


def ratio(measure, d, t):
    if d is None or t is None:
        return None
    return t / d if measure.startswith("latency") else d / t


def report(label, measure, r):
    """`measure: LABEL dlc=X torch=Y ratio=R` for the JIT (what `dlc train` runs), then the
    same line for the emitted C++ as LABEL_cpp."""
    fmt = lambda v: "na" if v is None else f"{v:.2f}"  # noqa: E731
    t = r["torch"]
    for name, d in ((label, r["jit"]), (label + "_cpp", r["cpp"])):
        rr = ratio(measure, d, t)
        print(f"measure: {name} dlc={fmt(d)} torch={fmt(t)} ratio={fmt(rr)} "
              f"torch_config={r.get('torch_config', 'na')}", flush=True)


def print_table(results):
    head = ("dlc JIT", "dlc C++", "PyTorch", "JIT/torch", "C++/torch")
    print(f"\n{'measure':<22} {'unit':<10}" + "".join(f" {h:>11}" for h in head))
    for m, r in results.items():
        unit = "us" if m.startswith("latency") else "samples/s"
        cells = ["n/a" if r[k] is None else f"{r[k]:.1f}" for k in WHO]
        for k in ("jit", "cpp"):
            rr = ratio(m, r[k], r["torch"])
            cells.append("n/a" if rr is None else f"{rr:.2f}x")
        print(f"{m:<22} {unit:<10}" + "".join(f" {c:>11}" for c in cells))


if __name__ == "__main__":
    main()
