//! Ratings and items files (MovieLens layouts), id remapping, bad input reported with its line
//! number, splits and folds, and the metrics on hand-computed lists.

use std::collections::HashSet;
use std::path::PathBuf;

use glassgrad::recsys::content::read_items;
use glassgrad::recsys::data::{IdMap, RatingScale, RatingsLayout, load_ratings, read_ratings};
use glassgrad::recsys::eval::{k_fold, train_test_split};
use glassgrad::recsys::metrics::{coverage, mae, rank_metrics, rmse};

fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassgrad_recsys_data_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const ML: RatingScale = RatingScale::MOVIELENS;

#[test]
fn reads_movielens_ratings_and_remaps_ids() {
    let p = file(
        "ok.csv",
        "userId,movieId,rating,timestamp\n17,1029,4.0,964982703\n3,1029,3.5,964981247\n17,50,5,964982224\n",
    );
    let ds = load_ratings(&p, &RatingsLayout::default(), ML).unwrap();
    assert_eq!((ds.n_users(), ds.n_items(), ds.ratings.len()), (2, 2, 3));
    let r = ds.ratings[2];
    assert_eq!((r.user, r.item, r.value, r.timestamp), (0, 1, 5.0, Some(964982224)));
    assert_eq!((ds.users.raw(1), ds.items.raw(0), ds.items.get(50)), (Some(3), Some(1029), Some(1)));
    // Configurable columns, in any order, without a timestamp.
    let p = file("cols.csv", "score,item,user\n2,7,9\n");
    let layout = RatingsLayout {
        user: "user".into(),
        item: "item".into(),
        rating: "score".into(),
        timestamp: None,
        ..Default::default()
    };
    let ds = load_ratings(&p, &layout, ML).unwrap();
    assert_eq!((ds.users.raw(0), ds.items.raw(0), ds.ratings[0].value), (Some(9), Some(7), 2.0));
    // A test file shares the train file's maps: known ids keep their index, new ones are added.
    let (mut users, mut items) = (IdMap::new(), IdMap::new());
    read_ratings(
        file("a.csv", "userId,movieId,rating,timestamp\n5,6,1,0\n"),
        &RatingsLayout::default(),
        ML,
        &mut users,
        &mut items,
    )
    .unwrap();
    let test = read_ratings(
        file("b.csv", "userId,movieId,rating,timestamp\n8,6,2,0\n5,9,3,0\n"),
        &RatingsLayout::default(),
        ML,
        &mut users,
        &mut items,
    )
    .unwrap();
    assert_eq!((test[0].user, test[0].item, test[1].user, test[1].item), (1, 0, 0, 1));
}

#[test]
fn bad_lines_are_errors_with_their_line_number() {
    let err = |name: &str, text: &str| {
        load_ratings(file(name, text), &RatingsLayout::default(), ML).unwrap_err().to_string()
    };
    let h = "userId,movieId,rating,timestamp\n";
    let e = err("short.csv", &format!("{h}1,2,3,4\n1,2,3\n"));
    assert!(e.contains("line 3") && e.contains("expected 4 fields"), "{e}");
    let e = err("scale.csv", &format!("{h}1,2,3,4\n1,2,3,4\n1,3,6,4\n"));
    assert!(e.contains("line 4") && e.contains("outside the declared scale"), "{e}");
    let e = err("nan.csv", &format!("{h}1,2,abc,4\n"));
    assert!(e.contains("line 2") && e.contains("not a number"), "{e}");
    let e = err("id.csv", &format!("{h}1.5,2,3,4\n"));
    assert!(e.contains("line 2") && e.contains("not an integer id"), "{e}");
    let e = err("col.csv", "user,movieId,rating,timestamp\n1,2,3,4\n");
    assert!(e.contains("line 1") && e.contains("userId"), "{e}");
    let e = err("empty.csv", "");
    assert!(e.contains("line 1"), "{e}");
    let e = load_ratings("/nonexistent/ratings.csv", &RatingsLayout::default(), ML).unwrap_err().to_string();
    assert!(e.contains("cannot open"), "{e}");
    assert!(RatingScale::new(5.0, 1.0).is_err());
}

#[test]
fn reads_movies_with_quoted_titles_and_genres() {
    let p = file(
        "movies.csv",
        "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n2,\"American President, The (1995)\",Comedy|Drama|Romance\n3,Unknown,(no genres listed)\n",
    );
    let mut items = IdMap::new();
    items.intern(2);
    let infos = read_items(&p, &mut items).unwrap();
    assert_eq!(infos.len(), 3);
    assert_eq!(infos[1].title, "American President, The (1995)");
    assert_eq!(infos[0].genres, vec!["Adventure", "Animation", "Children"]);
    assert!(infos[2].genres.is_empty());
    assert_eq!((items.get(2), items.get(1), items.get(3)), (Some(0), Some(1), Some(2)));
    let e =
        read_items(file("m2.csv", "movieId,title,genres\nx,T,Drama\n"), &mut items).unwrap_err().to_string();
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn splits_and_folds_partition_the_ratings() {
    let rs: Vec<_> = (0..103u32)
        .map(|n| glassgrad::recsys::Rating {
            user: n % 7,
            item: n,
            value: 1.0 + (n % 5) as f64,
            timestamp: None,
        })
        .collect();
    let (train, test) = train_test_split(&rs, 0.2, 9).unwrap();
    assert_eq!((train.len(), test.len()), (82, 21));
    let mut all: Vec<u32> = train.iter().chain(&test).map(|r| r.item).collect();
    all.sort();
    assert_eq!(all, (0..103).collect::<Vec<_>>());
    assert_eq!(train_test_split(&rs, 0.2, 9).unwrap().1, test, "seeded");
    let folds = k_fold(&rs, 5, 1).unwrap();
    let mut seen: Vec<u32> = folds.iter().flat_map(|(_, t)| t.iter().map(|r| r.item)).collect();
    seen.sort();
    assert_eq!(seen, (0..103).collect::<Vec<_>>());
    assert!(folds.iter().all(|(tr, te)| tr.len() + te.len() == 103));
    assert!(train_test_split(&rs, 1.5, 0).is_err() && k_fold(&rs, 1, 0).is_err());
}

#[test]
fn metrics_on_hand_computed_lists() {
    assert!((rmse(&[1.0, 3.0], &[2.0, 5.0]) - (2.5f64).sqrt()).abs() < 1e-12);
    assert!((mae(&[1.0, 3.0], &[2.0, 5.0]) - 1.5).abs() < 1e-12);
    // List [4, 1, 7], relevant {1, 9}: one hit at position 2.
    let rel: HashSet<usize> = [1, 9].into_iter().collect();
    let m = rank_metrics(&[4, 1, 7], &rel, 3);
    assert!((m.precision - 1.0 / 3.0).abs() < 1e-12 && (m.recall - 0.5).abs() < 1e-12 && m.hit == 1.0);
    let idcg = 1.0 + 1.0 / 3f64.log2();
    assert!((m.ndcg - (1.0 / 3f64.log2()) / idcg).abs() < 1e-12);
    assert_eq!(rank_metrics(&[1, 9], &rel, 2).ndcg, 1.0);
    assert_eq!(rank_metrics(&[2, 3], &rel, 2).hit, 0.0);
    assert!((coverage(&[vec![1, 2], vec![2, 3]], 10) - 0.3).abs() < 1e-12);
}
