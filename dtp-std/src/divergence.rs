//! Divergence: when `dtp train` stops a run whose training has blown up without producing a
//! NaN (exit 3, as a NaN does), and which checkpoint it keeps.
//!
//! **The rule.** An epoch is *suspect* when its training loss is more than [`FACTOR`] times
//! the lowest training loss of the epochs before it and more than [`MARGIN`] above it, or — for a classifier of `K` classes —
//! when its training error is at chance (≥ 1 − 1/K) although an earlier epoch's was at most
//! half of chance. [`EPOCHS`] suspect epochs in a row stop the run. A suspect epoch's
//! checkpoint is not written (unless it is the last epoch), so the checkpoint kept is the last
//! one written before the loss rose. `--allow-divergence` turns the rule off.
//!
//! Among the recorded runs (`results/*.metrics.jsonl`), no epoch whose loss is more than
//! [`MARGIN`] above its run's best is more than 1.75× that best (DRL's 784-240×7-10 search at
//! η̂ = 3), but for the Fashion-MNIST search at MNIST's forward rate 0.0149 (RESULTS.md: it
//! diverges, 19× its best), which the rule stops at epoch 12 (add `--allow-divergence` to
//! repeat that search's 15 epochs); backprop at DTP's forward rate on MNIST climbs from 2.25 to
//! 12.6. The margin keeps a fitted run going: `mnist-5x256-dtp` seed 1 (Adam) reached a
//! training loss of 1.7·10⁻⁵, then 0.061 at epoch 71 (3,600× its best, training error 1.7 %)
//! and 0.002 two epochs later — no divergence.

/// How far above its best the training loss may rise before an epoch is suspect.
pub const FACTOR: f64 = 3.0;
/// How far above its best, at least, the training loss must rise (in its own units: the
/// mean cross-entropy per sample, in nats, for a classifier) before an epoch is suspect.
pub const MARGIN: f64 = 0.1;
/// Suspect epochs in a row that stop a run.
pub const EPOCHS: u32 = 2;

/// What [`Watch::observe`] makes of an epoch.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Nothing wrong.
    Fine,
    /// The epoch breaks the rule, but not yet for [`EPOCHS`] epochs: its checkpoint is held
    /// back.
    Suspect,
    /// [`EPOCHS`] suspect epochs in a row: stop. The text says what was seen.
    Diverged(String),
}

/// The rule's memory of a run's epochs.
#[derive(Clone, Debug)]
pub struct Watch {
    /// The chance error of a classifier (1 − 1/K); `None` for the auto-encoder.
    chance: Option<f64>,
    /// The lowest training loss so far and its epoch.
    best_loss: Option<(f64, u32)>,
    /// The lowest training error so far.
    best_error: Option<f64>,
    /// Suspect epochs in a row, up to the last observed.
    suspect: u32,
}

impl Watch {
    /// A watch for a classifier of `classes` classes (`Some`), or a model whose error is no
    /// classification error (`None`).
    pub fn new(classes: Option<usize>) -> Self {
        Watch {
            chance: classes.filter(|&k| k > 1).map(|k| 1.0 - 1.0 / k as f64),
            best_loss: None,
            best_error: None,
            suspect: 0,
        }
    }

    /// Takes in epoch `epoch`'s training loss and error; says whether the run goes on.
    pub fn observe(&mut self, epoch: u32, loss: f64, error: f64) -> Verdict {
        let mut why = None;
        if let Some((best, at)) = self.best_loss
            && loss > FACTOR * best
            && loss > best + MARGIN
        {
            why = Some(format!(
                "training loss {loss:.4} is more than {FACTOR}× its best ({best:.4}, epoch {at}) \
                 and {MARGIN} above it"
            ));
        }
        if let (Some(chance), Some(best)) = (self.chance, self.best_error)
            && error >= chance
            && best <= chance / 2.0
        {
            why.get_or_insert_with(|| {
                format!(
                    "training error {:.2}% is back to chance ({:.2}%; best {:.2}%)",
                    100.0 * error,
                    100.0 * chance,
                    100.0 * best
                )
            });
        }
        // Best figures include a suspect epoch's only if they are better (a lower loss is
        // never suspect).
        if self.best_loss.is_none_or(|(b, _)| loss < b) {
            self.best_loss = Some((loss, epoch));
        }
        if self.best_error.is_none_or(|b| error < b) {
            self.best_error = Some(error);
        }
        match why {
            None => {
                self.suspect = 0;
                Verdict::Fine
            }
            Some(why) => {
                self.suspect += 1;
                if self.suspect >= EPOCHS {
                    Verdict::Diverged(format!("{why} ({} epochs in a row)", self.suspect))
                } else {
                    Verdict::Suspect
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_epochs_far_above_the_best_loss_stop() {
        let mut w = Watch::new(Some(10));
        assert_eq!(w.observe(1, 2.0, 0.5), Verdict::Fine);
        assert_eq!(w.observe(2, 1.0, 0.4), Verdict::Fine);
        assert_eq!(w.observe(3, 2.9, 0.4), Verdict::Fine);
        assert_eq!(w.observe(4, 3.1, 0.4), Verdict::Suspect);
        assert_eq!(w.observe(5, 2.0, 0.4), Verdict::Fine);
        assert_eq!(w.observe(6, 3.5, 0.4), Verdict::Suspect);
        let Verdict::Diverged(why) = w.observe(7, 12.0, 0.4) else {
            panic!("not stopped")
        };
        assert!(why.contains("epoch 2") && why.contains("12.0000"), "{why}");
    }

    /// A fitted run's loss may jump by several times near zero (Adam, `mnist-5x256-dtp`,
    /// epochs 34–36) without being suspect; the same jump from a loss of 1 is.
    #[test]
    fn a_rise_near_zero_loss_is_not_suspect() {
        let mut w = Watch::new(Some(10));
        assert_eq!(w.observe(34, 0.0025, 0.0006), Verdict::Fine);
        assert_eq!(w.observe(35, 0.0152, 0.0048), Verdict::Fine);
        assert_eq!(w.observe(36, 0.0108, 0.0036), Verdict::Fine);
        assert_eq!(w.observe(37, 0.1020, 0.03), Verdict::Fine);
        assert_eq!(w.observe(38, 0.1030, 0.03), Verdict::Suspect);
    }

    #[test]
    fn error_back_to_chance_stops_a_classifier_only() {
        let mut w = Watch::new(Some(10));
        w.observe(1, 1.0, 0.9);
        w.observe(2, 1.0, 0.9);
        assert_eq!(w.observe(3, 1.0, 0.95), Verdict::Fine, "never below chance");
        w.observe(4, 1.0, 0.3);
        assert_eq!(w.observe(5, 1.0, 0.9), Verdict::Suspect);
        assert!(matches!(w.observe(6, 1.0, 0.91), Verdict::Diverged(_)));
        let mut ae = Watch::new(None);
        ae.observe(1, 1.0, 0.1);
        assert_eq!(ae.observe(2, 1.0, 0.95), Verdict::Fine);
        assert_eq!(ae.observe(3, 1.0, 0.95), Verdict::Fine);
    }
}
