//! The registry of introspection clients (`introspection_clients`), built once into
//! `State`: who may call RFC 7662 introspection, and the credentials already checked.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::config::IntrospectionClient;

/// The clients allowed to introspect, and the credentials already checked: a gateway calls
/// for every request, and an argon2 check each time would cost more than the answer.
pub struct Clients {
    clients: Vec<IntrospectionClient>,
    verified: Mutex<HashSet<String>>,
}

impl Clients {
    pub fn new(clients: Vec<IntrospectionClient>) -> Clients {
        Clients {
            clients,
            verified: Mutex::new(HashSet::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The stored secret hash of a client.
    pub fn secret_hash(&self, client_id: &str) -> Option<&str> {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .map(|c| c.secret_hash.as_str())
    }

    /// Whether a client holds a scope (`introspect`, `admin`).
    pub fn has_scope(&self, client_id: &str, scope: &str) -> bool {
        self.clients
            .iter()
            .any(|c| c.client_id == client_id && c.scopes.iter().any(|s| s == scope))
    }

    /// Whether credentials (by their key) were checked before.
    pub fn is_verified(&self, key: &str) -> bool {
        self.verified.lock().expect("cache lock").contains(key)
    }

    /// Remembers credentials (by their key) that passed the check.
    pub fn remember(&self, key: String) {
        self.verified.lock().expect("cache lock").insert(key);
    }
}
