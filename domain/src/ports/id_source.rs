/// The engine's only source of new ids (deterministic under simulation).
pub trait IdSource: Send + Sync {
    /// A new id, unique for this source, prefixed with `kind` for readability (e.g. `acc-17`).
    fn next_id(&self, kind: &str) -> String;
}
