//! The pipeline screen's keys: the board and the list, moves, won and lost, explanations.

use super::*;

impl App {
    /// The pipeline screen's keys: the board and the list, moves, won and lost, explanations. `None`: not one of them.
    pub(crate) fn pipeline_action(&mut self, action: Action) -> Option<Vec<Request>> {
        Some(match action {
            Action::NextPane => {
                let n = self
                    .pipeline
                    .board
                    .as_ref()
                    .map(|b| b.columns.len())
                    .unwrap_or(0);
                self.pipeline.column = (self.pipeline.column + 1).min(n.saturating_sub(1));
                Vec::new()
            }
            Action::PrevPane => {
                self.pipeline.column = self.pipeline.column.saturating_sub(1);
                Vec::new()
            }
            Action::MoveDown => self.board_move(1),
            Action::MoveUp => self.board_move(-1),
            Action::HalfPageDown => self.board_move(self.half_page() as i64),
            Action::HalfPageUp => self.board_move(-(self.half_page() as i64)),
            Action::Top => self.board_move(i64::MIN / 2),
            Action::Bottom => self.board_move(i64::MAX / 2),
            Action::ToggleView => {
                self.pipeline.list = !self.pipeline.list;
                Vec::new()
            }
            Action::StageForward | Action::StageBack => {
                let forward = action == Action::StageForward;
                let Some((col, card)) = self.pipeline.selected() else {
                    return Some(Vec::new());
                };
                let Some(board) = &self.pipeline.board else {
                    return Some(Vec::new());
                };
                let target = if forward {
                    col + 1
                } else {
                    col.wrapping_sub(1)
                };
                match board.columns.get(target) {
                    Some(to) => {
                        let req = Request::MoveDeal {
                            deal_id: card.id,
                            to: crate::domain::deals::Move::Stage(to.stage_id),
                        };
                        self.status =
                            Some((format!("moving {} to {}…", card.name, to.name), false));
                        vec![req]
                    }
                    None => {
                        let hint = if forward {
                            "it is in the last open stage: W marks it won"
                        } else {
                            "it is in the first stage"
                        };
                        self.status = Some((hint.into(), false));
                        Vec::new()
                    }
                }
            }
            Action::MarkWon => {
                let Some((_, card)) = self.pipeline.selected() else {
                    return Some(Vec::new());
                };
                let req = Request::MoveDeal {
                    deal_id: card.id,
                    to: crate::domain::deals::Move::Won,
                };
                self.popup = Some(Popup::Confirm {
                    question: format!(
                        "Mark {}{} ({}) won? It closes today and its order goes into the ledger (u undoes it).",
                        card.external_id
                            .as_deref()
                            .map(|e| format!("{e} "))
                            .unwrap_or_default(),
                        card.name,
                        card.amount
                    ),
                    request: Box::new(req),
                    strong: false,
                });
                Vec::new()
            }
            Action::Explain => {
                let Some((_, card)) = self.pipeline.selected() else {
                    return Some(Vec::new());
                };
                self.popup = Some(Popup::Explain {
                    deal_id: card.id,
                    deal: card.name.clone(),
                    body: None,
                });
                vec![Request::Explain { deal_id: card.id }]
            }
            Action::MarkLost => {
                let Some((_, card)) = self.pipeline.selected() else {
                    return Some(Vec::new());
                };
                self.popup = Some(Popup::LostReason {
                    deal_id: card.id,
                    deal: card.name.clone(),
                    input: Default::default(),
                });
                Vec::new()
            }
            _ => return None,
        })
    }
}

impl App {
    /// The worker's replies for this part of the screens; any other reply is given back.
    pub(super) fn pipeline_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        Ok(match reply {
            Reply::Board(Ok(b)) => {
                self.pipeline.board = Some(*b);
                self.pipeline.clamp();
                Vec::new()
            }
            Reply::Board(Err(e)) | Reply::StuckThresholds(Err(e)) => {
                self.status = Some((e, true));
                Vec::new()
            }
            Reply::StuckThresholds(Ok(t)) => {
                self.pipeline.stuck = t;
                self.pipeline.stuck_learned = true;
                Vec::new()
            }
            Reply::Moved(Ok(msg)) => {
                self.status = Some((msg, false));
                vec![Request::Board, Request::Dashboard]
            }
            Reply::Explanation(result) => {
                // Learning the model first showed as a task: the answer ends it (else the
                // status bar stays on it and nothing else may start).
                if self.task.as_ref().is_some_and(|t| t.name == "explain") {
                    self.task = None;
                }
                if let Some(Popup::Explain { deal_id, body, .. }) = &mut self.popup {
                    match result {
                        Ok(x) if x.deal_id == *deal_id => *body = Some(x),
                        Ok(_) => {}
                        Err(e) => {
                            self.popup = None;
                            self.status = Some((e, true));
                        }
                    }
                }
                Vec::new()
            }
            Reply::Moved(Err(e)) => {
                self.status = Some((e, true));
                Vec::new()
            }
            other => return Err(other),
        })
    }
}
