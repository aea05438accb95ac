//! Who changed what: the entities funnel audits, the writer, and the entries of the
//! audit trail as the screens and commands show them.

/// The tables that hold user data, by the entity name used in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Team,
    Rep,
    Customer,
    Contact,
    Product,
    Stage,
    Deal,
    StageChange,
    Activity,
    Order,
    Target,
    TargetRevision,
}

impl Entity {
    pub fn table(self) -> &'static str {
        match self {
            Entity::Team => "teams",
            Entity::Rep => "reps",
            Entity::Customer => "customers",
            Entity::Contact => "contacts",
            Entity::Product => "products",
            Entity::Stage => "stages",
            Entity::Deal => "deals",
            Entity::StageChange => "stage_changes",
            Entity::Activity => "activities",
            Entity::Order => "orders",
            Entity::Target => "targets",
            Entity::TargetRevision => "target_revisions",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Entity::Team => "team",
            Entity::Rep => "rep",
            Entity::Customer => "customer",
            Entity::Contact => "contact",
            Entity::Product => "product",
            Entity::Stage => "stage",
            Entity::Deal => "deal",
            Entity::StageChange => "stage_change",
            Entity::Activity => "activity",
            Entity::Order => "order",
            Entity::Target => "target",
            Entity::TargetRevision => "target_revision",
        }
    }
    pub fn from_name(name: &str) -> Option<Entity> {
        ALL_ENTITIES.iter().copied().find(|e| e.name() == name)
    }
}

/// Every entity, parents before children.
pub const ALL_ENTITIES: [Entity; 12] = [
    Entity::Team,
    Entity::Rep,
    Entity::Customer,
    Entity::Contact,
    Entity::Product,
    Entity::Stage,
    Entity::Deal,
    Entity::StageChange,
    Entity::Activity,
    Entity::Order,
    Entity::Target,
    Entity::TargetRevision,
];

/// Who is writing, and under which import batch.
#[derive(Debug, Clone)]
pub struct Actor {
    pub os_user: String,
    /// The name the user gave funnel, shown beside the account (never instead of it).
    pub display_name: Option<String>,
    pub at: String,
    pub batch_id: Option<i64>,
}

/// One audit entry as `funnel audit` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub os_user: String,
    /// The name the user gave funnel, if any (self-declared; the account is `os_user`).
    pub display_name: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    /// The last id of a range an import inserted.
    pub entity_id_last: Option<i64>,
    pub batch_id: Option<i64>,
    pub note: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    /// Entries at or after this time (an ISO date or timestamp).
    pub since: Option<String>,
    pub user: Option<String>,
    /// Only entries older than this one (the next page going back).
    pub before_id: Option<i64>,
    pub limit: usize,
}
