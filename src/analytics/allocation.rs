//! Rep-time allocation by linear programming: hours of each rep's capacity to the rep's
//! accounts, maximising expected revenue.
//!
//! Each account's expected return from `h` hours of attention is a concave curve,
//! R(h) = V · lift · (1 − e^(−h/τ)) — V the value at stake (weighted pipeline and predicted
//! purchases), `lift` the share of it attention can win, τ the hours by which about 63% of
//! that is won — cut into linear pieces at the breakpoints (the minimum touch, 1, 2, 4, 8 …
//! hours up to the maximum per account). Their slopes fall, so the LP
//!
//!   max Σ_a Σ_k slope_ak · x_ak
//!   s.t. Σ_{a of rep r} Σ_k x_ak ≤ H_r            (each rep's capacity)
//!        x_a0 = minimum touch                     (every active customer is touched)
//!        0 ≤ x_ak ≤ length of piece k              (so Σ_k x_ak ≤ the maximum per account)
//!
//! fills an account's earlier (steeper) pieces first without integer variables. It is solved
//! with good_lp and microlp (pure Rust), one LP per rep: the constraints separate by rep, so
//! this is the same optimum, and far faster than one LP of every account. The value of one
//! more hour for a rep (the shadow price of its capacity) is measured by solving the rep's
//! LP again with one hour more — microlp gives no dual values through good_lp.

use good_lp::{constraint, microlp, variable, Expression, Solution, SolverModel, Variable};

/// The curve and the bounds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Params {
    /// The share of an account's value at stake that attention can win.
    pub lift: f64,
    /// Hours by which about 63% of the winnable value is won.
    pub tau: f64,
    /// Hours every account gets.
    pub min_touch: f64,
    /// Most hours one account can get.
    pub max_hours: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            lift: 0.3,
            tau: 3.0,
            min_touch: 0.25,
            max_hours: 8.0,
        }
    }
}

/// One account: whose it is (an index into the reps), its value at stake, and whether it
/// must have the minimum touch (an active customer; a prospect need not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Account {
    pub rep: usize,
    pub value: f64,
    pub touch: bool,
}

/// The breakpoints of the pieces: 0, the minimum touch, then 1, 2, 4, … up to and with the
/// maximum per account.
pub fn breakpoints(p: &Params) -> Vec<f64> {
    let mut b = vec![0.0];
    if p.min_touch > 0.0 {
        b.push(p.min_touch.min(p.max_hours));
    }
    let mut h = 1.0;
    while h < p.max_hours {
        if h > *b.last().unwrap_or(&0.0) + 1e-9 {
            b.push(h);
        }
        h *= 2.0;
    }
    if p.max_hours > *b.last().unwrap_or(&0.0) + 1e-9 {
        b.push(p.max_hours);
    }
    b
}

/// The smooth curve R(h) for value `v`.
pub fn smooth(v: f64, h: f64, p: &Params) -> f64 {
    v * p.lift * (1.0 - (-h / p.tau).exp())
}

/// The expected return of `h` hours on an account of value `v` on the piecewise-linear
/// curve (what the LP maximises).
pub fn returns(v: f64, h: f64, p: &Params) -> f64 {
    let b = breakpoints(p);
    let mut total = 0.0;
    for w in b.windows(2) {
        if h <= w[0] {
            break;
        }
        let slope = (smooth(v, w[1], p) - smooth(v, w[0], p)) / (w[1] - w[0]);
        total += slope * (h.min(w[1]) - w[0]);
    }
    total
}

/// What the LP decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// Hours per account (0 for the accounts of a rep that could not be planned).
    pub hours: Vec<f64>,
    /// Expected revenue of the allocation on the piecewise-linear curves.
    pub revenue: f64,
    /// Hours used per rep.
    pub used: Vec<f64>,
    /// The value of one more hour per rep (0 when its capacity is not binding).
    pub shadow: Vec<f64>,
    /// Reps whose capacity cannot give each of their accounts the minimum touch: (rep,
    /// hours needed). Their accounts are left out.
    pub short: Vec<(usize, f64)>,
}

/// Solves the allocation LP for reps with `capacity` hours each.
pub fn solve(accounts: &[Account], capacity: &[f64], p: &Params) -> Result<Allocation, String> {
    if !(p.max_hours > 0.0 && p.min_touch >= 0.0 && p.min_touch <= p.max_hours) {
        return Err(format!(
            "the minimum touch ({} h) must be between 0 and the maximum per account ({} h), which must be above 0",
            p.min_touch, p.max_hours
        ));
    }
    let mut need = vec![0.0; capacity.len()];
    for a in accounts.iter().filter(|a| a.touch) {
        need[a.rep] += p.min_touch;
    }
    let short: Vec<(usize, f64)> = need
        .iter()
        .enumerate()
        .filter(|(r, n)| **n > capacity[*r] + 1e-9)
        .map(|(r, n)| (r, *n))
        .collect();
    // The constraints separate by rep (a rep's hours go only to its own accounts), so the
    // LP is solved rep by rep: the same optimum, and the solver's time grows faster than
    // the problem (one LP of 100,000 accounts took minutes; 50 of 2,000 take seconds).
    let mut by_rep: Vec<Vec<usize>> = vec![Vec::new(); capacity.len()];
    for (i, a) in accounts.iter().enumerate() {
        by_rep[a.rep].push(i);
    }
    let mut hours = vec![0.0; accounts.len()];
    let mut revenue = 0.0;
    let mut used = vec![0.0; capacity.len()];
    let mut shadow = vec![0.0; capacity.len()];
    for (r, members) in by_rep.iter().enumerate() {
        if members.is_empty() || short.iter().any(|(s, _)| *s == r) {
            continue;
        }
        // The rep's accounts as rep 0 of a one-rep problem.
        let mine: Vec<Account> = members
            .iter()
            .map(|&i| Account {
                rep: 0,
                ..accounts[i]
            })
            .collect();
        let (h, value) = lp(&mine, &capacity[r..=r], p)?;
        for (&i, h) in members.iter().zip(&h) {
            hours[i] = *h;
            used[r] += h;
        }
        revenue += value;
        // The value of one more hour: the rep's part solved again with one hour more.
        if used[r] >= capacity[r] - 1e-6 {
            let (_, plus) = lp(&mine, &[capacity[r] + 1.0], p)?;
            shadow[r] = (plus - value).max(0.0);
        }
    }
    Ok(Allocation {
        hours,
        revenue,
        used,
        shadow,
        short,
    })
}

/// The LP over `accounts`: hours per account and the objective.
fn lp(accounts: &[Account], capacity: &[f64], p: &Params) -> Result<(Vec<f64>, f64), String> {
    let b = breakpoints(p);
    let mut vars = good_lp::ProblemVariables::new();
    let mut pieces: Vec<Vec<(Variable, f64)>> = Vec::with_capacity(accounts.len());
    let mut objective = Expression::default();
    let mut per_rep: Vec<Expression> = vec![Expression::default(); capacity.len()];
    for a in accounts {
        let mut mine = Vec::new();
        for (k, w) in b.windows(2).enumerate() {
            let len = w[1] - w[0];
            let slope = (smooth(a.value, w[1], p) - smooth(a.value, w[0], p)) / len;
            // The first piece is the minimum touch: fixed where it must be given.
            let fixed = k == 0 && p.min_touch > 0.0 && a.touch;
            let x = vars.add(variable().min(if fixed { len } else { 0.0 }).max(len));
            objective += slope * x;
            per_rep[a.rep] += x;
            mine.push((x, slope));
        }
        pieces.push(mine);
    }
    if accounts.is_empty() {
        return Ok((Vec::new(), 0.0));
    }
    let mut model = vars.maximise(objective).using(microlp);
    for (r, e) in per_rep.into_iter().enumerate() {
        model = model.with(constraint!(e <= capacity[r]));
    }
    let solution = model
        .solve()
        .map_err(|e| format!("the allocation LP could not be solved: {e}"))?;
    let mut revenue = 0.0;
    let hours = pieces
        .iter()
        .map(|m| {
            m.iter()
                .map(|(x, slope)| {
                    let h = solution.value(*x).max(0.0);
                    revenue += slope * h;
                    h
                })
                .sum()
        })
        .collect();
    Ok((hours, revenue))
}

/// The greedy allocation it is compared with: every active account its minimum touch, then, rep by
/// rep, accounts in order of value take hours up to the maximum until the capacity runs out
/// (the rule of thumb "spend the time on the biggest accounts").
pub fn greedy(accounts: &[Account], capacity: &[f64], p: &Params) -> Vec<f64> {
    let mut left = capacity.to_vec();
    let mut hours = vec![0.0; accounts.len()];
    for (i, a) in accounts.iter().enumerate().filter(|(_, a)| a.touch) {
        let h = p.min_touch.min(left[a.rep].max(0.0));
        hours[i] = h;
        left[a.rep] -= h;
    }
    let mut order: Vec<usize> = (0..accounts.len()).collect();
    order.sort_by(|&i, &j| accounts[j].value.total_cmp(&accounts[i].value));
    for i in order {
        let r = accounts[i].rep;
        let extra = (p.max_hours - hours[i]).min(left[r].max(0.0));
        hours[i] += extra;
        left[r] -= extra;
    }
    hours
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn the_pieces_follow_the_curve_and_fall() {
        let p = Params::default();
        assert_eq!(breakpoints(&p), vec![0.0, 0.25, 1.0, 2.0, 4.0, 8.0]);
        // At a breakpoint the pieces meet the smooth curve; between, they lie under it.
        for h in [0.25, 1.0, 2.0, 4.0, 8.0] {
            assert!(close(returns(1000.0, h, &p), smooth(1000.0, h, &p)));
        }
        assert!(returns(1000.0, 3.0, &p) < smooth(1000.0, 3.0, &p));
        // Beyond the maximum nothing more is won.
        assert!(close(returns(1000.0, 20.0, &p), returns(1000.0, 8.0, &p)));
    }

    /// Two reps, three accounts, no curvature to speak of: a hand-solvable LP.
    /// Params: lift 1, min 0, max 2, τ huge and values V·τ so that each account returns
    /// ≈ V an hour, constant: a plain LP. Rep 0 (3 h) has accounts returning 300 and 100
    /// an hour: the 300 takes its max 2 h, the 100 the last hour (optimum 600 + 100 + 400
    /// = 1100 with rep 1's); one more hour would go to the 100 — rep 0's shadow price 100.
    /// Rep 1 (5 h) has one account returning 200: 2 h, capacity not binding, shadow 0.
    #[test]
    fn a_small_lp_has_its_known_optimum_and_shadow_prices() {
        let tau = 1e6;
        let p = Params {
            lift: 1.0,
            tau,
            min_touch: 0.0,
            max_hours: 2.0,
        };
        let accounts = [
            Account {
                rep: 0,
                value: 300.0 * tau,
                touch: true,
            },
            Account {
                rep: 0,
                value: 100.0 * tau,
                touch: true,
            },
            Account {
                rep: 1,
                value: 200.0 * tau,
                touch: true,
            },
        ];
        let a = solve(&accounts, &[3.0, 5.0], &p).unwrap();
        assert!(close(a.hours[0], 2.0), "{:?}", a.hours);
        assert!(close(a.hours[1], 1.0), "{:?}", a.hours);
        assert!(close(a.hours[2], 2.0), "{:?}", a.hours);
        let expect: f64 = [(300.0, 2.0), (100.0, 1.0), (200.0, 2.0)]
            .iter()
            .map(|(v, h)| smooth(v * tau, *h, &p))
            .sum();
        assert!((expect - 1100.0).abs() < 0.01, "{expect}");
        assert!(
            (a.revenue - expect).abs() < 1e-6,
            "{} vs {expect}",
            a.revenue
        );
        // One more hour for rep 0 goes to the 100 account: worth ≈ 100.
        let want = smooth(100.0 * tau, 2.0, &p) - smooth(100.0 * tau, 1.0, &p);
        assert!((want - 100.0).abs() < 0.01, "{want}");
        assert!(
            (a.shadow[0] - want).abs() < 1e-6,
            "{} vs {want}",
            a.shadow[0]
        );
        assert_eq!(a.shadow[1], 0.0);
        assert!(close(a.used[0], 3.0) && close(a.used[1], 2.0));
    }

    #[test]
    fn diminishing_returns_spread_hours_where_greedy_piles_them() {
        let p = Params::default();
        // One rep, 6 h: one big account and three middling ones.
        let accounts: Vec<Account> = [10_000.0, 4_000.0, 4_000.0, 4_000.0]
            .iter()
            .map(|&value| Account {
                rep: 0,
                value,
                touch: true,
            })
            .collect();
        let cap = [6.0];
        let a = solve(&accounts, &cap, &p).unwrap();
        let g = greedy(&accounts, &cap, &p);
        let value = |h: &[f64]| -> f64 {
            accounts
                .iter()
                .zip(h)
                .map(|(a, h)| returns(a.value, *h, &p))
                .sum()
        };
        assert!(close(value(&a.hours), a.revenue));
        assert!(
            a.revenue > value(&g) + 1.0,
            "{} vs {}",
            a.revenue,
            value(&g)
        );
        // Every account has its minimum touch, nobody more than the maximum, capacity kept.
        for h in &a.hours {
            assert!(*h >= p.min_touch - 1e-9 && *h <= p.max_hours + 1e-9);
        }
        assert!(a.hours.iter().sum::<f64>() <= 6.0 + 1e-6);
        assert!(a.shadow[0] > 0.0);
    }

    #[test]
    fn a_rep_who_cannot_touch_every_account_is_named_not_planned() {
        let p = Params::default();
        let accounts = vec![
            Account {
                rep: 0,
                value: 1.0,
                touch: true,
            };
            10
        ];
        let a = solve(&accounts, &[1.0], &p).unwrap();
        assert_eq!(a.short, vec![(0, 2.5)]);
        assert!(a.hours.iter().all(|h| *h == 0.0));
    }
}
