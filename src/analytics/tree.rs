//! A classification tree (CART, Gini impurity), deterministic: the same rows give the same
//! tree in every run. It follows linfa-trees 0.8's `DecisionTree` rule for rule (candidate
//! splits at midpoints, equal values kept on one side, a minimum weight per leaf, a minimum
//! impurity decrease, leaves predicting the modal class, pruning of subtrees that predict
//! one class), but sums class weights in class order: linfa-trees keeps them in a
//! `HashMap`, whose order changes from run to run, so near-equal splits were chosen by
//! chance and `funnel needs` gave different answers on the same data.

/// A node: a leaf predicting a class, or a split sending `x[feature] <= value` left.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Leaf {
        class: usize,
    },
    Split {
        feature: usize,
        value: f64,
        left: usize,
        right: usize,
    },
}

/// A fitted tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// When to stop splitting (linfa-trees' defaults but the depth and leaf weight).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub max_depth: usize,
    pub min_weight_leaf: f64,
    pub min_weight_split: f64,
    pub min_impurity_decrease: f64,
}

impl Params {
    pub fn new(max_depth: usize, min_weight_leaf: f64) -> Params {
        Params {
            max_depth,
            min_weight_leaf,
            min_weight_split: 2.0,
            min_impurity_decrease: 1e-5,
        }
    }
}

fn gini(counts: &[f64]) -> f64 {
    let n: f64 = counts.iter().sum();
    if n <= 0.0 {
        return 0.0;
    }
    1.0 - counts.iter().map(|c| (c / n) * (c / n)).sum::<f64>()
}

/// The class with the largest weight, the lowest class among equals.
fn modal(counts: &[f64]) -> usize {
    let mut best = 0;
    for (i, c) in counts.iter().enumerate() {
        if *c > counts[best] {
            best = i;
        }
    }
    best
}

struct Fit<'a> {
    x: &'a [Vec<f64>],
    y: &'a [usize],
    classes: usize,
    p: Params,
    /// Per feature, the rows in increasing order of that feature (ties by row).
    sorted: Vec<Vec<usize>>,
    nodes: Vec<Node>,
}

impl Fit<'_> {
    fn grow(&mut self, rows: &[bool], depth: usize) -> usize {
        let mut counts = vec![0.0; self.classes];
        let mut n = 0.0;
        for (i, &on) in rows.iter().enumerate() {
            if on {
                counts[self.y[i]] += 1.0;
                n += 1.0;
            }
        }
        let at = self.nodes.len();
        self.nodes.push(Node::Leaf {
            class: modal(&counts),
        });
        if n < self.p.min_weight_split || depth >= self.p.max_depth {
            return at;
        }
        let mut best: Option<(usize, f64, f64)> = None;
        for (feature, order) in self.sorted.iter().enumerate() {
            let mut right = counts.clone();
            let mut left = vec![0.0; self.classes];
            let (mut w_right, mut w_left) = (n, 0.0);
            for k in 0..order.len().saturating_sub(1) {
                let row = order[k];
                if !rows[row] {
                    continue;
                }
                right[self.y[row]] -= 1.0;
                left[self.y[row]] += 1.0;
                w_right -= 1.0;
                w_left += 1.0;
                let (v, next) = (self.x[row][feature], self.x[order[k + 1]][feature]);
                if (v - next).abs() < 1e-5 {
                    continue;
                }
                if w_right < self.p.min_weight_leaf || w_left < self.p.min_weight_leaf {
                    continue;
                }
                let score = (w_right / n) * gini(&right) + (w_left / n) * gini(&left);
                if best.is_none_or(|b| score < b.2) {
                    best = Some((feature, (v + next) / 2.0, score));
                }
            }
        }
        let Some((feature, value, score)) = best else {
            return at;
        };
        if gini(&counts) - score < self.p.min_impurity_decrease {
            return at;
        }
        let go_left: Vec<bool> = (0..rows.len())
            .map(|i| rows[i] && self.x[i][feature] <= value)
            .collect();
        let go_right: Vec<bool> = (0..rows.len())
            .map(|i| rows[i] && self.x[i][feature] > value)
            .collect();
        if !go_left.contains(&true) || !go_right.contains(&true) {
            return at;
        }
        let left = self.grow(&go_left, depth + 1);
        let right = self.grow(&go_right, depth + 1);
        self.nodes[at] = Node::Split {
            feature,
            value,
            left,
            right,
        };
        at
    }
}

impl Tree {
    /// Fits a tree to `x` (one row per example) and classes `y` (0..classes).
    pub fn fit(x: &[Vec<f64>], y: &[usize], classes: usize, p: Params) -> Tree {
        let width = x.first().map_or(0, Vec::len);
        let sorted = (0..width)
            .map(|f| {
                let mut order: Vec<usize> = (0..x.len()).collect();
                order.sort_by(|&a, &b| x[a][f].total_cmp(&x[b][f]).then(a.cmp(&b)));
                order
            })
            .collect();
        let mut fit = Fit {
            x,
            y,
            classes: classes.max(y.iter().max().map_or(0, |m| m + 1)),
            p,
            sorted,
            nodes: Vec::new(),
        };
        fit.grow(&vec![true; x.len()], 0);
        let mut tree = Tree { nodes: fit.nodes };
        tree.prune(0);
        tree.compact()
    }

    /// Merges splits whose two sides predict one class (bottom up); the class a pruned
    /// subtree predicts, or `None` where its sides differ.
    fn prune(&mut self, at: usize) -> Option<usize> {
        match self.nodes[at].clone() {
            Node::Leaf { class } => Some(class),
            Node::Split { left, right, .. } => {
                let (l, r) = (self.prune(left), self.prune(right));
                match (l, r) {
                    (Some(a), Some(b)) if a == b => {
                        self.nodes[at] = Node::Leaf { class: a };
                        Some(a)
                    }
                    _ => None,
                }
            }
        }
    }

    /// The nodes still reachable from the root, renumbered in depth-first order.
    fn compact(&self) -> Tree {
        fn copy(from: &Tree, at: usize, out: &mut Vec<Node>) -> usize {
            let me = out.len();
            out.push(from.nodes[at].clone());
            if let Node::Split { left, right, .. } = from.nodes[at] {
                let l = copy(from, left, out);
                let r = copy(from, right, out);
                if let Node::Split {
                    left: ref mut nl,
                    right: ref mut nr,
                    ..
                } = out[me]
                {
                    *nl = l;
                    *nr = r;
                }
            }
            me
        }
        let mut nodes = Vec::new();
        if !self.nodes.is_empty() {
            copy(self, 0, &mut nodes);
        }
        Tree { nodes }
    }

    /// The leaf `x` reaches, with the sides taken (true: left) on the way.
    pub fn leaf(&self, x: &[f64]) -> (usize, Vec<bool>) {
        let mut at = 0;
        let mut path = Vec::new();
        while let Some(Node::Split {
            feature,
            value,
            left,
            right,
        }) = self.nodes.get(at)
        {
            let l = x[*feature] <= *value;
            path.push(l);
            at = if l { *left } else { *right };
        }
        (at, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_where_the_classes_part_and_predicts_the_modal_class() {
        // Class 1 exactly when the first feature is above 5; the second is noise.
        let x: Vec<Vec<f64>> = (0..40)
            .map(|i| vec![f64::from(i % 10), f64::from((i * 7) % 3)])
            .collect();
        let y: Vec<usize> = x.iter().map(|r| usize::from(r[0] > 5.0)).collect();
        let t = Tree::fit(&x, &y, 2, Params::new(3, 1.0));
        assert_eq!(
            t.nodes[0],
            Node::Split {
                feature: 0,
                value: 5.5,
                left: 1,
                right: 2
            }
        );
        assert_eq!(t.nodes[1], Node::Leaf { class: 0 });
        assert_eq!(t.nodes[2], Node::Leaf { class: 1 });
        assert_eq!(t.leaf(&[7.0, 0.0]), (2, vec![false]));
    }

    #[test]
    fn the_same_rows_give_the_same_tree_and_leaves_respect_the_minimum() {
        let x: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                vec![
                    f64::from((i * 37) % 101),
                    f64::from((i * 53) % 89),
                    f64::from(i % 7),
                ]
            })
            .collect();
        let y: Vec<usize> = (0..300).map(|i| ((i * 31) % 97 % 3) as usize).collect();
        let a = Tree::fit(&x, &y, 3, Params::new(4, 20.0));
        for _ in 0..5 {
            assert_eq!(Tree::fit(&x, &y, 3, Params::new(4, 20.0)), a);
        }
        let mut per_leaf = std::collections::HashMap::new();
        for r in &x {
            *per_leaf.entry(a.leaf(r).0).or_insert(0) += 1;
        }
        assert!(per_leaf.values().all(|n| *n >= 20), "{per_leaf:?}");
        // A split that predicts one class on both sides is pruned away.
        let one = vec![0usize; 300];
        assert_eq!(
            Tree::fit(&x, &one, 3, Params::new(4, 20.0)).nodes,
            vec![Node::Leaf { class: 0 }]
        );
    }
}
