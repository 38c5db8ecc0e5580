from streamproc.tables.rankings import merge_top, top_n


def test_highest_first_ties_by_lower_id():
    scores = {7: (100,), 3: (100,), 9: (250,), 1: (5,)}
    assert [i for i, _ in top_n(scores, 3)] == [9, 3, 7]


def test_tuple_scores_compare_lexicographically():
    scores = {1: (10, 500), 2: (10, 900), 3: (11, 0)}
    assert [i for i, _ in top_n(scores, 3)] == [3, 2, 1]


def test_n_larger_than_population():
    assert [i for i, _ in top_n({1: (1,)}, 10)] == [1]


def test_merge_top_equals_full_recompute():
    scores = {i: ((i * 37) % 101,) for i in range(1, 500)}
    top = [i for i, _ in top_n(scores, 10)]
    # grow a few scores, including ones outside the top
    for i in (250, 3, top[-1]):
        scores[i] = (scores[i][0] + 60,)
    assert merge_top(top, [250, 3, top[-1]], scores, k=10) == [i for i, _ in top_n(scores, 10)]
