//! Deleting the selected row (a customer, contact, activity or deal) after asking with
//! what goes with it, and the replies of a delete.

use super::*;

impl App {
    /// Asks the worker what deleting the selected row would take with it (the question
    /// follows with the answer).
    pub(super) fn delete_selected(&mut self) -> Vec<Request> {
        use crate::app::Entity;
        let target = match self.screen {
            Screen::Customers => self
                .customers
                .selected_row()
                .map(|r| (Entity::Customer, r.id)),
            Screen::Detail => self.detail.as_ref().and_then(|d| {
                if self.timeline_focus {
                    d.activities
                        .get(self.activity_sel)
                        .map(|a| (Entity::Activity, a.id))
                } else {
                    d.contacts
                        .get(self.contact_sel)
                        .map(|c| (Entity::Contact, c.id))
                }
            }),
            Screen::Pipeline => self.pipeline.selected().map(|(_, c)| (Entity::Deal, c.id)),
            _ => None,
        };
        match target {
            Some((entity, id)) => vec![Request::PlanRemoval { entity, id }],
            None => {
                self.status = Some(("nothing selected to delete".into(), false));
                Vec::new()
            }
        }
    }

    /// The replies of a delete: its plan (asked about) and its result; any other reply is
    /// given back.
    pub(super) fn removal_reply(&mut self, reply: Reply) -> Result<Vec<Request>, Reply> {
        Ok(match reply {
            Reply::RemovalPlan(Ok(plan)) => {
                let mut question = format!("Delete {}?", plan.describe());
                if let Some(w) = plan.ledger_warning() {
                    question.push_str(&format!(" Careful: {w}."));
                    if plan.entity == crate::app::Entity::Customer {
                        question.push_str(
                            " A duplicate customer is better merged (M): its revenue stays.",
                        );
                    }
                    question.push_str(" F deletes anyway.");
                } else {
                    question.push_str(" (u undoes it)");
                }
                self.popup = Some(Popup::Confirm {
                    question,
                    strong: plan.ledger.is_some(),
                    request: Box::new(Request::Remove {
                        entity: plan.entity,
                        id: plan.id,
                        force: plan.ledger.is_some(),
                    }),
                });
                Vec::new()
            }
            Reply::RemovalPlan(Err(e)) | Reply::Removed(Err(e)) => {
                self.status = Some((e, true));
                Vec::new()
            }
            Reply::Removed(Ok(msg)) => self.on_reply(Reply::Undone(Ok(msg))),
            other => return Err(other),
        })
    }
}
