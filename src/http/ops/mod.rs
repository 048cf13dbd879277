//! Operations: liveness and readiness (`health`), the Prometheus metrics and the per-worker
//! request counts behind them, and the middleware around every request (`observe`).

pub(super) mod health;
pub mod metrics;
pub(super) mod observe;
mod request_counts;
