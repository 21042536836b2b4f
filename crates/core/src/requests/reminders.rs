//! Reminders to the data protection service before the thirty days of each request, and of
//! each letter not yet a request, run out.

use uuid::Uuid;

use crate::{Result, Vintrova};

impl Vintrova {
    /// Remind the data protection service of every open request, and every letter in the
    /// mailbox not yet classified, that has reached one of the `points` (days left) or is
    /// overdue. Each reminder is sent once: its Message-ID is made from the request (or the
    /// letter, whose id its request keeps) and the point. Reminders name the request, the right
    /// and the date, never the person.
    pub async fn remind_staff(&self, points: &[i64]) -> Result<u64> {
        let mut sent = 0;
        for queued in self.request_queue().await? {
            let request = &queued.request;
            let what = format!("Запрос {} ({})", request.id, request.right.as_str());
            let clock = crate::rights::Deadline {
                due_on: request.due_on,
                overdue_from: request.overdue_from,
            };
            sent += self
                .remind_of(request.id, &what, request.received_at, &clock, points)
                .await?;
        }
        // A letter in the mailbox nobody has classified yet, and a letter held until its code
        // comes back, run the same thirty days from their arrival. Their reminders carry the id
        // the request will have, so a point told about the letter is not told again about it.
        let zone = self.policy().zone();
        for letter in self.store().inbox().await? {
            let what = format!("Письмо {} из почты, ещё не разобранное", letter.id);
            let clock = crate::rights::deadline(letter.received_at, &zone);
            sent += self
                .remind_of(letter.id, &what, letter.received_at, &clock, points)
                .await?;
        }
        for waiting in self.letters_waiting().await? {
            let letter = &waiting.letter;
            let what = format!(
                "Письмо-запрос {} ({}), код подтверждения ещё не вернулся",
                letter.id,
                letter.right.as_str()
            );
            let clock = crate::rights::deadline(letter.received_at, &zone);
            sent += self
                .remind_of(letter.id, &what, letter.received_at, &clock, points)
                .await?;
        }
        Ok(sent)
    }

    /// Tell the data protection service about `what` (request or letter `id`) at each of
    /// `points` days before its deadline it has reached, and once it is overdue — each point
    /// once. Returns how many were sent now.
    async fn remind_of(
        &self,
        id: Uuid,
        what: &str,
        received_at: jiff::Timestamp,
        clock: &crate::rights::Deadline,
        points: &[i64],
    ) -> Result<u64> {
        let now = self.now();
        let days_left = crate::rights::days_left(clock, now, &self.policy().zone());
        let overdue = now >= clock.overdue_from;
        let mut due: Vec<String> = points
            .iter()
            .filter(|p| days_left <= **p && days_left >= 0)
            .map(|p| format!("{p}d"))
            .collect();
        if overdue {
            due.push("overdue".into());
        }
        let mut sent = 0;
        for point in due {
            let title = if overdue {
                format!("ПРОСРОЧЕН: {what}")
            } else {
                format!("{what}: осталось {days_left} дн.")
            };
            let body = format!(
                "{what}: получено {received_at}, срок ответа — {} (время Алматы). Осталось дней: {days_left}.",
                clock.due_on,
            );
            let message_id = format!("<reminder-{id}-{point}@vintrova.outbox>");
            if self
                .tell_the_service(message_id, "request:reminder", &title, &body)
                .await?
            {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
