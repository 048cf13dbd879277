//! Operations: liveness and readiness (`health`), the Prometheus metrics and the per-worker
//! request counts behind them, and the middleware around every request (`observe`).

pub mod health;
pub mod metrics;
pub mod observe;
pub mod request_counts;
