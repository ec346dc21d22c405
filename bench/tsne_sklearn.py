"""scikit-learn's t-SNE on a float32 matrix, for bench/tsne.ts.

Usage:
  OMP_NUM_THREADS=1 /usr/bin/python3 bench/tsne_sklearn.py X.npy [--threads 1] [--out Y.npy]
  /usr/bin/python3 bench/tsne_sklearn.py X.f32 --shape 5000,20 [--threads 2]

Runs sklearn.manifold.TSNE(n_components=2, perplexity=30, init='pca',
learning_rate='auto', random_state=1, n_jobs=THREADS) with its other defaults
(Barnes-Hut, angle 0.5, 1000 iterations, early exaggeration 12) and prints one line of
JSON: {"seconds", "cpu_seconds", "trustworthiness", "kl", "n_iter", "threads", "sklearn"}.
`seconds` is the wall-clock time of fit_transform alone (neighbours, affinities, PCA and
optimisation, as bench/tsne.ts times ours), `cpu_seconds` the CPU time of all the
process's threads over the same call; trustworthiness (k = 10, Euclidean) is computed
afterwards, untimed.

Threads: n_jobs sets the neighbour search's and the Barnes-Hut gradient's threads; set
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS to the same number before Python starts (the
caller does) so that BLAS and OpenMP agree.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help=".npy, or raw little-endian float32 with --shape")
    parser.add_argument("--shape", help="rows,cols of a raw .f32 file")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=int, default=10, help="trustworthiness neighbours")
    parser.add_argument("--out", help="write the embedding here (.npy)")
    args = parser.parse_args()

    if args.input.endswith(".npy"):
        X = np.load(args.input).astype(np.float32, copy=False)
    else:
        if not args.shape:
            sys.exit("a raw float32 file needs --shape rows,cols")
        rows, cols = (int(v) for v in args.shape.split(","))
        X = np.fromfile(args.input, dtype="<f4")
        if X.size != rows * cols:
            sys.exit(f"{args.input}: {X.size} floats, expected {rows} x {cols}")
        X = X.reshape(rows, cols)

    import sklearn
    from sklearn.manifold import TSNE, trustworthiness
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads):
        model = TSNE(
            n_components=2,
            perplexity=args.perplexity,
            init="pca",
            learning_rate="auto",
            random_state=args.seed,
            n_jobs=args.threads,
        )
        start = time.perf_counter()
        cpu_start = time.process_time()
        Y = model.fit_transform(X)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        t = trustworthiness(X, Y, n_neighbors=args.k)
    if args.out:
        np.save(args.out, Y.astype(np.float32))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "trustworthiness": float(t),
                "kl": float(model.kl_divergence_),
                "n_iter": int(model.n_iter_),
                "threads": args.threads,
                "sklearn": sklearn.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
