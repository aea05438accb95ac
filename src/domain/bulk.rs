//! Where generated data goes: the demo simulator writes through this, so that it runs the
//! same against the database's bulk writer and against an in-memory recorder (tests,
//! without a database). Every call returns the new row's id where it has one.

/// A sink's failure (the database's, for the store's writer).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;
pub type SinkResult<T> = Result<T, SinkError>;

/// A deal as the simulator makes it.
pub struct NewDeal<'a> {
    pub external_id: &'a str,
    pub name: &'a str,
    pub customer_id: i64,
    pub owner_rep_id: i64,
    pub product_id: i64,
    pub amount_cents: i64,
    pub stage_id: i64,
    pub created_on: &'a str,
    pub stage_entered_on: &'a str,
    pub expected_close: &'a str,
    pub closed_on: Option<&'a str>,
    pub source: &'a str,
    pub lost_reason: Option<&'a str>,
    pub discount_pct: f64,
}

/// The rows a generator writes, parents before children.
pub trait BulkSink {
    #[allow(clippy::too_many_arguments)]
    fn team(&self, name: &str, parent: Option<i64>) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn rep(
        &self,
        name: &str,
        email: &str,
        team: i64,
        capacity: f64,
        hired_on: &str,
    ) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn product(
        &self,
        sku: &str,
        name: &str,
        family: &str,
        list_price_cents: i64,
    ) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn stage(
        &self,
        name: &str,
        position: i64,
        probability: f64,
        kind: &str,
        category: &str,
    ) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn customer(
        &self,
        external_id: &str,
        name: &str,
        owner: i64,
        industry: &str,
        segment: &str,
        region: &str,
        city: &str,
        country: &str,
        email: &str,
        phone: &str,
        contact_every_days: i64,
        created_on: &str,
    ) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn set_customer_status(&self, id: i64, status: &str) -> SinkResult<()>;
    #[allow(clippy::too_many_arguments)]
    fn contact(
        &self,
        external_id: &str,
        customer: i64,
        name: &str,
        title: &str,
        email: &str,
        primary: bool,
    ) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn deal(&self, d: &NewDeal) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn stage_change(&self, deal: i64, from: Option<i64>, to: i64, on: &str) -> SinkResult<()>;
    #[allow(clippy::too_many_arguments)]
    fn activity(
        &self,
        customer: i64,
        deal: Option<i64>,
        rep: i64,
        kind: &str,
        subject: &str,
        due_on: Option<&str>,
        done_on: Option<&str>,
        outcome: Option<&str>,
    ) -> SinkResult<()>;
    #[allow(clippy::too_many_arguments)]
    fn order(
        &self,
        external_id: Option<&str>,
        customer: i64,
        deal: Option<i64>,
        product: i64,
        on: &str,
        cents: i64,
        quantity: i64,
    ) -> SinkResult<()>;
    #[allow(clippy::too_many_arguments)]
    fn target(
        &self,
        scope: &str,
        team: Option<i64>,
        rep: Option<i64>,
        period: &str,
        metric: &str,
        value: i64,
    ) -> SinkResult<i64>;
    #[allow(clippy::too_many_arguments)]
    fn target_revision(
        &self,
        target: i64,
        old: Option<i64>,
        new: i64,
        at: &str,
        by: &str,
        reason: &str,
    ) -> SinkResult<()>;
}

/// A sink that keeps every row as a line of text and hands out ids 1, 2, 3, …: the
/// simulator run without a database (its output compared across runs in tests).
#[derive(Debug, Default)]
pub struct Recorder {
    pub rows: std::cell::RefCell<Vec<String>>,
    next: std::cell::Cell<i64>,
}

impl Recorder {
    fn next_id(&self) -> i64 {
        self.next.set(self.next.get() + 1);
        self.next.get()
    }
}

impl BulkSink for Recorder {
    fn team(&self, name: &str, parent: Option<i64>) -> SinkResult<i64> {
        self.rows
            .borrow_mut()
            .push(format!("team {:?} {:?}", name, parent));
        Ok(self.next_id())
    }
    fn rep(
        &self,
        name: &str,
        email: &str,
        team: i64,
        capacity: f64,
        hired_on: &str,
    ) -> SinkResult<i64> {
        self.rows.borrow_mut().push(format!(
            "rep {:?} {:?} {:?} {:?} {:?}",
            name, email, team, capacity, hired_on
        ));
        Ok(self.next_id())
    }
    fn product(
        &self,
        sku: &str,
        name: &str,
        family: &str,
        list_price_cents: i64,
    ) -> SinkResult<i64> {
        self.rows.borrow_mut().push(format!(
            "product {:?} {:?} {:?} {:?}",
            sku, name, family, list_price_cents
        ));
        Ok(self.next_id())
    }
    fn stage(
        &self,
        name: &str,
        position: i64,
        probability: f64,
        kind: &str,
        category: &str,
    ) -> SinkResult<i64> {
        self.rows.borrow_mut().push(format!(
            "stage {:?} {:?} {:?} {:?} {:?}",
            name, position, probability, kind, category
        ));
        Ok(self.next_id())
    }
    fn customer(
        &self,
        external_id: &str,
        name: &str,
        owner: i64,
        industry: &str,
        segment: &str,
        region: &str,
        city: &str,
        country: &str,
        email: &str,
        phone: &str,
        contact_every_days: i64,
        created_on: &str,
    ) -> SinkResult<i64> {
        self.rows.borrow_mut().push(format!(
            "customer {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            external_id,
            name,
            owner,
            industry,
            segment,
            region,
            city,
            country,
            email,
            phone,
            contact_every_days,
            created_on
        ));
        Ok(self.next_id())
    }
    fn set_customer_status(&self, id: i64, status: &str) -> SinkResult<()> {
        self.rows
            .borrow_mut()
            .push(format!("set_customer_status {:?} {:?}", id, status));
        Ok(())
    }
    fn contact(
        &self,
        external_id: &str,
        customer: i64,
        name: &str,
        title: &str,
        email: &str,
        primary: bool,
    ) -> SinkResult<i64> {
        self.rows.borrow_mut().push(format!(
            "contact {:?} {:?} {:?} {:?} {:?} {:?}",
            external_id, customer, name, title, email, primary
        ));
        Ok(self.next_id())
    }
    fn deal(&self, d: &NewDeal) -> SinkResult<i64> {
        self.rows.borrow_mut().push(format!(
            "deal {} {} {} {} {} {} {} {} {} {:?} {:?} {} {:?} {}",
            d.external_id,
            d.name,
            d.customer_id,
            d.owner_rep_id,
            d.product_id,
            d.amount_cents,
            d.stage_id,
            d.created_on,
            d.stage_entered_on,
            d.expected_close,
            d.closed_on,
            d.source,
            d.lost_reason,
            d.discount_pct
        ));
        Ok(self.next_id())
    }
    fn stage_change(&self, deal: i64, from: Option<i64>, to: i64, on: &str) -> SinkResult<()> {
        self.rows.borrow_mut().push(format!(
            "stage_change {:?} {:?} {:?} {:?}",
            deal, from, to, on
        ));
        Ok(())
    }
    fn activity(
        &self,
        customer: i64,
        deal: Option<i64>,
        rep: i64,
        kind: &str,
        subject: &str,
        due_on: Option<&str>,
        done_on: Option<&str>,
        outcome: Option<&str>,
    ) -> SinkResult<()> {
        self.rows.borrow_mut().push(format!(
            "activity {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            customer, deal, rep, kind, subject, due_on, done_on, outcome
        ));
        Ok(())
    }
    fn order(
        &self,
        external_id: Option<&str>,
        customer: i64,
        deal: Option<i64>,
        product: i64,
        on: &str,
        cents: i64,
        quantity: i64,
    ) -> SinkResult<()> {
        self.rows.borrow_mut().push(format!(
            "order {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            external_id, customer, deal, product, on, cents, quantity
        ));
        Ok(())
    }
    fn target(
        &self,
        scope: &str,
        team: Option<i64>,
        rep: Option<i64>,
        period: &str,
        metric: &str,
        value: i64,
    ) -> SinkResult<i64> {
        self.rows.borrow_mut().push(format!(
            "target {:?} {:?} {:?} {:?} {:?} {:?}",
            scope, team, rep, period, metric, value
        ));
        Ok(self.next_id())
    }
    fn target_revision(
        &self,
        target: i64,
        old: Option<i64>,
        new: i64,
        at: &str,
        by: &str,
        reason: &str,
    ) -> SinkResult<()> {
        self.rows.borrow_mut().push(format!(
            "target_revision {:?} {:?} {:?} {:?} {:?} {:?}",
            target, old, new, at, by, reason
        ));
        Ok(())
    }
}
