"""scikit-surprise on the same split as `glassgrad train recommender --write-data DIR`.

    glassgrad train recommender --algo mf --write-data /tmp/rs      # writes train.csv, test.csv
    /tmp/torchvenv/bin/python examples/recommender_surprise.py /tmp/rs

Prints one JSON line per algorithm: rmse, mae, fit_s, predict_s (default parameters throughout;
item-based KNNBasic is KNNBasic(sim_options={"user_based": False})).
"""

import json
import sys
import time

from surprise import SVD, BaselineOnly, Dataset, KNNBasic, NMF, Reader, SlopeOne, SVDpp, accuracy

folder = sys.argv[1]
wanted = sys.argv[2].split(",") if len(sys.argv) > 2 else ["baseline", "svd", "knn-user", "knn-item", "slope-one", "nmf"]
reader = Reader(line_format="user item rating timestamp", sep=",", rating_scale=(0.5, 5.0), skip_lines=1)
trainset = Dataset.load_from_file(f"{folder}/train.csv", reader).build_full_trainset()
testset = [(u, i, r) for (u, i, r, _) in Dataset.load_from_file(f"{folder}/test.csv", reader).raw_ratings]

algos = {
    "baseline": lambda: BaselineOnly(verbose=False),
    "svd": lambda: SVD(random_state=0),
    "svdpp": lambda: SVDpp(random_state=0),
    "nmf": lambda: NMF(random_state=0),
    "slope-one": lambda: SlopeOne(),
    "knn-user": lambda: KNNBasic(verbose=False),
    "knn-item": lambda: KNNBasic(sim_options={"user_based": False}, verbose=False),
}
for name in wanted:
    algo = algos[name]()
    t0 = time.perf_counter()
    algo.fit(trainset)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    pred = algo.test(testset)
    predict_s = time.perf_counter() - t1
    print(json.dumps({"algo": name, "rmse": accuracy.rmse(pred, verbose=False), "mae": accuracy.mae(pred, verbose=False), "fit_s": fit_s, "predict_s": predict_s}), flush=True)
