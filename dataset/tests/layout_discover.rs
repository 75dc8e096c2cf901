//! Case discovery: a single file, a plain folder (recursive), the original's img/segmentation
//! layout, duplicate ids, empty folders, and prediction/ground-truth pairing by id.

use std::path::{Path, PathBuf};

use dataset::layout::{CaseFiles, discover, pair_by_id};

fn touch(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, b"x").expect("write");
    path
}

#[test]
fn a_single_file_is_one_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = touch(dir.path(), "patient7_0000.nii.gz");
    let cases = discover(&file).expect("discover");
    assert_eq!(
        cases,
        vec![CaseFiles {
            id: "patient7".into(),
            image: file,
            label: None
        }]
    );
    let other = touch(dir.path(), "readme.txt");
    assert!(
        discover(&other)
            .expect_err("not an image")
            .to_string()
            .contains("readme.txt")
    );
}

#[test]
fn a_plain_folder_is_searched_recursively_and_sorted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = touch(dir.path(), "site2/b.nii");
    let a = touch(dir.path(), "site1/deep/a_0000.nii.gz");
    let c = touch(dir.path(), "c.dcm");
    touch(dir.path(), "notes.txt");
    touch(dir.path(), ".hidden.nii.gz");
    let cases = discover(dir.path()).expect("discover");
    let got: Vec<(&str, &Path)> = cases
        .iter()
        .map(|c| (c.id.as_str(), c.image.as_path()))
        .collect();
    assert_eq!(
        got,
        vec![("a", a.as_path()), ("b", b.as_path()), ("c", c.as_path())]
    );
    assert!(cases.iter().all(|c| c.label.is_none()));
}

#[test]
fn the_original_layout_pairs_images_with_segmentations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img1 = touch(dir.path(), "img/study1/a4c/uuid1_0000.nii.gz");
    let img2 = touch(dir.path(), "img/study2/a2c/uuid2_0000.nii.gz");
    let seg1 = touch(dir.path(), "segmentation/study1/a4c/uuid1.nii.gz");
    // An id that itself ends in `_0000` (the simulator's `source_0000`): the image carries the
    // channel suffix once more, the segmentation does not.
    let img3 = touch(dir.path(), "img/source_0000_0000.nii.gz");
    let seg3 = touch(dir.path(), "segmentation/source_0000.nii.gz");
    touch(dir.path(), "segmentation/study9/a4c/orphan.nii.gz");
    touch(dir.path(), "dataset.csv");
    let cases = discover(dir.path()).expect("discover");
    assert_eq!(
        cases,
        vec![
            CaseFiles {
                id: "source_0000".into(),
                image: img3,
                label: Some(seg3)
            },
            CaseFiles {
                id: "uuid1".into(),
                image: img1,
                label: Some(seg1)
            },
            CaseFiles {
                id: "uuid2".into(),
                image: img2,
                label: None
            },
        ]
    );
}

#[test]
fn duplicate_ids_and_empty_folders_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = touch(dir.path(), "a/p1_0000.nii.gz");
    let second = touch(dir.path(), "b/p1.nii");
    let err = discover(dir.path()).expect_err("duplicate").to_string();
    assert!(
        err.contains("`p1`")
            && err.contains(&first.display().to_string())
            && err.contains(&second.display().to_string()),
        "{err}"
    );

    let empty = tempfile::tempdir().expect("tempdir");
    touch(empty.path(), "sub/readme.md");
    let err = discover(empty.path()).expect_err("empty").to_string();
    assert!(
        err.contains(&empty.path().display().to_string()) && err.contains("no .nii"),
        "{err}"
    );

    let missing = empty.path().join("nope");
    assert!(
        discover(&missing)
            .expect_err("missing")
            .to_string()
            .contains("nope")
    );
}

#[test]
fn predictions_pair_with_ground_truths_by_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p1 = touch(dir.path(), "pred/p1.nii.gz");
    let p2 = touch(dir.path(), "pred/sub/p2.nii.gz");
    touch(dir.path(), "pred/p1_merged_reward.nii.gz");
    touch(dir.path(), "pred/p1_0_reward.nii.gz");
    touch(dir.path(), "pred/p1.gif");
    let g1 = touch(dir.path(), "gt/segmentation/s/a4c/p1.nii.gz");
    let g3 = touch(dir.path(), "gt/segmentation/s/a4c/p3.nii.gz");
    touch(dir.path(), "gt/img/s/a4c/p1_0000.nii.gz");
    // Label ids keep a `_0000` ending (only images carry the channel suffix).
    let p4 = touch(dir.path(), "pred/case_0000.nii.gz");
    let g4 = touch(dir.path(), "gt/segmentation/s/a2c/case_0000.nii.gz");
    let pairing = pair_by_id(&dir.path().join("pred"), &dir.path().join("gt")).expect("pair");
    assert_eq!(
        pairing.matched,
        vec![
            ("case_0000".to_string(), p4, g4),
            ("p1".to_string(), p1, g1)
        ]
    );
    assert_eq!(pairing.unmatched_pred, vec![("p2".to_string(), p2)]);
    assert_eq!(pairing.unmatched_gt, vec![("p3".to_string(), g3)]);

    let file = dir.path().join("pred/p1.nii.gz");
    assert!(
        pair_by_id(&file, &dir.path().join("gt"))
            .expect_err("not a folder")
            .to_string()
            .contains("not a folder")
    );
}
