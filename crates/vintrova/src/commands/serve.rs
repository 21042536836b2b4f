//! `serve`: the API and the staff console over HTTP(S), with the background jobs beside them
//! until a signal stops the server.

use vintrova_core::Actor;

use crate::cli::ServeArgs;
use crate::setup::{self, Config, Result};
use crate::{jobs, practice};

pub async fn run(config: &Config, args: ServeArgs) -> Result<()> {
    // Shared with other servers on this data, never with a restore.
    let _serving = setup::serving_lock(&config.data_dir, false)?;
    let rt = setup::open(config).await?;
    let _serving_here_too = setup::database_serving_lock(&rt.backend, false).await?;
    // Before the first request: an erasure a crash cut short ends now, so nobody half-erased
    // is ever served (the hourly round finishes what another server leaves).
    let finished = rt.app.finish_erasures().await?;
    if finished > 0 {
        say!("  Finished {finished} erasure(s) a crash had cut short.");
    }
    let (token, written) = setup::api_token(&rt).await?;
    if written {
        say!(
            "  The API token (the same on every server of this installation) is in {} (mode 0600); send it as `Authorization: Bearer <token>`.",
            config.data_dir.join("api-token").display()
        );
    }
    let listener = std::net::TcpListener::bind(&args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    let tls = match (&args.tls_cert, &args.tls_key, args.self_signed) {
        (Some(cert), Some(key), _) => Some(vintrova_web::tls::server_config(
            &std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?,
            &std::fs::read(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?,
        )?),
        (_, _, true) => {
            let (cert, key) = setup::self_signed_certificate(config, local)?;
            Some(vintrova_web::tls::server_config(&cert, &key)?)
        }
        _ => None,
    };
    if tls.is_none() && !local.ip().is_loopback() && !args.behind_tls_proxy {
        return Err(format!(
            "refusing plain HTTP on {local}: personal data travels only over TLS (R7.1). Give --tls-cert and --tls-key, or --behind-tls-proxy when a proxy in front terminates TLS"
        )
        .into());
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    // Kazakhstan's law on personal data wants its citizens' data in a primary database inside
    // the country; a declaration elsewhere is allowed to start, loudly.
    if !args
        .storage_country
        .eq_ignore_ascii_case(&rt.app.policy().operator.country)
    {
        say!(
            "  WARNING: the primary database is declared to be in {} (VINTROVA_STORAGE_COUNTRY). The law of {} requires the primary database of personal data inside the country; keep it there and transfer abroad only as the policy allows.",
            args.storage_country,
            rt.app.policy().operator.country
        );
        tracing::warn!(storage_country = %args.storage_country, "the primary database is declared outside the operator's country");
    }
    let operator = Actor::new("system", "first-start");
    // The archive shows every version ever in force: the first one too, from its first start.
    let text = crate::setup::policy_text(rt.config.policy_file.as_deref())?;
    if rt.app.archive_policy_in_force(&operator, &text).await? {
        say!(
            "  Recorded policy {} in the public archive (/policy/versions).",
            rt.app.policy().version
        );
    }
    if let Some(enrollment) = rt.app.first_administrator(&operator).await? {
        say!("  No administrator has enrolled yet.");
        practice::print_enrollment(&enrollment, &public_url)?;
    }
    say!(
        "Vintrova is serving on {scheme}://{local} ({} backend, policy {}); the API is described at /api/v1/openapi.json, the staff console is at /staff",
        rt.app.backend(),
        rt.app.policy().version
    );
    if tls.is_none() {
        say!(
            "  Plain HTTP: put a TLS-terminating proxy in front, or serve with --tls-cert/--tls-key. Staff cookies are `Secure`; browsers send them over HTTPS or to localhost only."
        );
    }
    let provider = std::sync::Arc::new(setup::dev_provider(&rt).await?);
    let proxies = if args.trusted_proxies.is_empty() {
        vintrova_web::security::TrustedProxies::loopback()
    } else {
        vintrova_web::security::TrustedProxies::new(args.trusted_proxies.clone())
    };
    let state = vintrova_web::AppState::new(rt.app.clone(), &token, provider)
        .with_trusted_proxies(proxies)
        .with_public_url(&public_url);
    let live = vintrova_web::live::Live::new(state);
    let mut background = jobs::Jobs::new();
    jobs::delivery::spawn(&mut background, &rt, &live)?;
    jobs::retention::spawn(&mut background, &rt, &live);
    jobs::hourly::spawn(
        &mut background,
        &live,
        jobs::hourly::Witnesses {
            dir: args.witness_dir.clone(),
            mail: args.witness_mail,
        },
    );
    jobs::policy::spawn(&mut background, &live);
    if let Some(mailbox) = setup::mailbox(config)? {
        say!("  Reading the mailbox {mailbox:?} every 30 s into the inbox.");
        jobs::mailbox::spawn(&mut background, &live, mailbox);
    }
    jobs::webhooks::spawn(
        &mut background,
        &live,
        std::time::Duration::from_secs(args.webhook_timeout),
    );
    let router = live.router();
    match tls {
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown().await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            vintrova_web::tls::serve(listener, router, config, handle).await?;
        }
        None => {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown())
            .await?;
        }
    }
    // The requests in flight are answered; the jobs' rounds under way finish, none starts.
    say!("  Stopping: finishing the background work under way.");
    background.stop().await;
    say!("Vintrova stopped.");
    Ok(())
}

/// Ctrl-C for a server run by hand, SIGTERM for one a service manager runs.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
