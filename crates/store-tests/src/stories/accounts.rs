//! Accounts: registration, sign-in, sessions, password change and reset, closing.

use super::*;

/// Accounts: registration takes exactly the consents ticked, sign-in never tells a wrong
/// password from an unknown email, sessions live on the server and end on sign-out, password
/// change and expiry, and closing the account ends the contract.
pub async fn accounts_open_sign_in_change_password_and_close(h: &Harness) {
    use vintrova_core::accounts::AuthError;
    let actor = operator();
    let password = "Шымкент-2025-пароль";
    let values = h.app.parse_json(&aigerim()).unwrap();
    // Contact data rests on consent, so an account needs it; the form says so before.
    let unconsenting = h
        .app
        .register(
            &actor,
            values.clone(),
            password,
            vec!["notifications".into()],
        )
        .await;
    assert!(
        matches!(&unconsenting, Err(CoreError::Invalid(e)) if e.problems[0].field == "consents" && e.problems[0].problem.contains("contact_data")),
        "{unconsenting:?}"
    );
    let ticked = crate::ticked(h.app.policy(), &values, vec!["notifications".into()]);
    assert_eq!(
        ticked,
        [
            "contact_data",
            "notifications",
            "phone_number",
            "professional_profile"
        ]
    );
    let id = h
        .app
        .register(&actor, values.clone(), password, ticked)
        .await
        .unwrap()
        .opened()
        .expect("the account opens");
    let consents = h.copy(id).await.unwrap().consents;
    assert_eq!(consents.len(), 4, "only the ticked consents are recorded");
    assert!(
        h.app.read(&actor, id, "personalization").await.is_ok(),
        "the account is the contract"
    );
    assert!(matches!(
        h.app.read(&actor, id, "learning_analytics").await,
        Err(CoreError::Refused(Refusal::NoConsent { .. }))
    ));

    let again = h
        .app
        .register(
            &actor,
            values.clone(),
            "another-password",
            crate::ticked(&crate::shipped_policy(), &values, vec![]),
        )
        .await;
    assert!(
        matches!(&again, Err(CoreError::Invalid(e)) if e.problems[0].field == "contact.email"),
        "{again:?}"
    );
    assert!(matches!(
        h.app.register(&actor, h.app.parse_json(&json!({"contact": {"email": "short@mail.kz"}})).unwrap(), "short", vec!["contact_data".into()]).await,
        Err(CoreError::Invalid(e)) if e.problems[0].field == "password"
    ));

    let wrong = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "not the password")
        .await
        .unwrap_err();
    let unknown = h.app.sign_in("nobody@mail.kz", password).await.unwrap_err();
    assert_eq!(
        wrong.to_string(),
        unknown.to_string(),
        "no hint whether an email is registered"
    );
    assert!(matches!(
        wrong,
        CoreError::Auth(AuthError::WrongCredentials)
    ));

    let first = h
        .app
        .sign_in("AIGERIM.Nurlanova.test@почта.kz", password)
        .await
        .unwrap();
    let second = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", password)
        .await
        .unwrap();
    assert_eq!(h.app.session(&first.token).await.unwrap(), id);

    assert!(matches!(
        h.app
            .change_password(&actor, &first.token, "wrong current", "новый-пароль-2026")
            .await,
        Err(CoreError::Auth(AuthError::WrongCredentials))
    ));
    h.app
        .change_password(&actor, &first.token, password, "новый-пароль-2026")
        .await
        .unwrap();
    assert!(
        h.app.session(&first.token).await.is_ok(),
        "the session that changed it stays"
    );
    assert!(
        matches!(
            h.app.session(&second.token).await,
            Err(CoreError::Auth(AuthError::NoSession))
        ),
        "every other session ends"
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", password)
            .await
            .is_err()
    );
    let third = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-2026")
        .await
        .unwrap();

    h.app.sign_out(&first.token).await.unwrap();
    assert!(h.app.session(&first.token).await.is_err());
    h.clock.advance(SignedDuration::from_hours(24 * 31));
    assert!(
        h.app.session(&third.token).await.is_err(),
        "sessions expire"
    );

    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, "новый-пароль-2026".as_bytes())
            && !contains(&stored, third.token.as_bytes())
    );

    let fourth = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-2026")
        .await
        .unwrap();
    h.app.close_account(&actor, id).await.unwrap();
    assert!(
        h.app.session(&fourth.token).await.is_err(),
        "closing ends every session"
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-2026")
            .await
            .is_err()
    );
    assert!(matches!(
        h.app.read(&actor, id, "personalization").await,
        Err(CoreError::Refused(Refusal::ContractNotInForce { .. }))
    ));
    let receipt = h.app.erase(&actor, id).await.unwrap();
    assert!(receipt.subject_removed);
    let actions: Vec<String> = h
        .store()
        .audit_page(0, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    for action in ["open_account", "change_password", "close_account"] {
        assert!(actions.iter().any(|a| a == action), "{action} is audited");
    }
}

/// A password reset: the same answer for every address, one use within the hour, and every
/// session ends.
pub async fn password_reset_tokens_work_once_within_the_hour_and_tell_nothing(h: &Harness) {
    use vintrova_core::accounts::AuthError;
    let actor = operator();
    let values = h.app.parse_json(&aigerim()).unwrap();
    h.app
        .register(
            &actor,
            values.clone(),
            "первый-пароль-123",
            crate::ticked(&crate::shipped_policy(), &values, vec![]),
        )
        .await
        .unwrap()
        .opened()
        .expect("the account opens");
    let session = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "первый-пароль-123")
        .await
        .unwrap();

    let unknown = h
        .app
        .request_password_reset(&actor, "nobody@mail.kz")
        .await
        .unwrap();
    let known = h
        .app
        .request_password_reset(&actor, "Aigerim.Nurlanova.Test@почта.kz")
        .await
        .unwrap();
    assert_eq!(
        unknown.token.len(),
        known.token.len(),
        "no hint whether an address is registered"
    );
    assert_eq!(unknown.expires_at, known.expires_at);
    // Issue 20: the same work either way — one audited write — so the time an answer takes
    // does not tell a registered address from another.
    let before = audit_len(h).await;
    h.app
        .request_password_reset(&actor, "nobody.else@mail.kz")
        .await
        .unwrap();
    let after_unknown = audit_len(h).await;
    h.app
        .request_password_reset(&actor, "aigerim.nurlanova.test@почта.kz")
        .await
        .unwrap();
    assert_eq!(
        (after_unknown - before, audit_len(h).await - after_unknown),
        (1, 1)
    );
    let bad =
        |r: Result<(), CoreError>| matches!(r, Err(CoreError::Auth(AuthError::BadResetToken)));
    assert!(bad(h
        .app
        .reset_password(&actor, &unknown.token, "новый-пароль-456")
        .await));

    let expired = h
        .app
        .request_password_reset(&actor, "aigerim.nurlanova.test@почта.kz")
        .await
        .unwrap();
    h.app
        .reset_password(&actor, &known.token, "новый-пароль-456")
        .await
        .unwrap();
    assert!(
        bad(h
            .app
            .reset_password(&actor, &known.token, "третий-пароль-789")
            .await),
        "a token works once"
    );
    assert!(
        h.app.session(&session.token).await.is_err(),
        "every session ends"
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", "первый-пароль-123")
            .await
            .is_err()
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-456")
            .await
            .is_ok()
    );

    h.clock.advance(SignedDuration::from_mins(61));
    assert!(
        bad(h
            .app
            .reset_password(&actor, &expired.token, "третий-пароль-789")
            .await),
        "a token lasts an hour"
    );
    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, known.token.as_bytes()),
        "only the token's digest is stored"
    );
}
