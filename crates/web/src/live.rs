//! The server's current version of everything (R10.1): a published policy version takes effect
//! at its moment in a running server. Each request is handed whole to the router of the
//! version current when it arrived, so it sees one policy, data map and gate from start to end;
//! the next request sees the new one. The stores, the vault, the audit appender and the
//! limiter are shared by every version.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::Request;
use tower::ServiceExt;
use vintrova_core::{CoreError, Vintrova};

use crate::{AppState, router};

pub struct Live {
    state: AppState,
    current: RwLock<(Arc<Vintrova>, Router)>,
}

impl Live {
    pub fn new(state: AppState) -> Arc<Live> {
        let current = (state.app.clone(), router(state.clone()));
        Arc::new(Live {
            state,
            current: RwLock::new(current),
        })
    }

    fn now(&self) -> (Arc<Vintrova>, Router) {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The services as they are now, for work outside a request (the background jobs).
    pub fn app(&self) -> Arc<Vintrova> {
        self.now().0
    }

    /// Swap in the published version that came into force, if one did: returns its version.
    pub async fn refresh(&self) -> Result<Option<String>, CoreError> {
        let Some(next) = self.app().in_force_now().await? else {
            return Ok(None);
        };
        let version = next.policy().version.clone();
        let app = Arc::new(next);
        let router = router(AppState {
            app: app.clone(),
            ..self.state.clone()
        });
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = (app, router);
        Ok(Some(version))
    }

    /// What to serve: every request goes to the version current when it arrived.
    pub fn router(self: &Arc<Self>) -> Router {
        let live = self.clone();
        Router::new().fallback_service(tower::service_fn(move |request: Request| {
            let (_, router) = live.now();
            async move { router.oneshot(request).await }
        }))
    }
}
