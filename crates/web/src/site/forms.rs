//! A refused form comes back as it was sent: what was typed (never a password or a token) is
//! in its inputs again, each problem stands beside its field (`aria-invalid`,
//! `aria-describedby`), and the list at the top links to each field.

use vintrova_core::values::InvalidInput;
use vintrova_policy::Policy;

use crate::i18n::Tr;
use crate::refusals::{input_of, problem_line, problem_text};

/// Inputs whose value never comes back into a page.
const NEVER_ECHOED: [&str; 3] = ["password", "csrf", "code"];

/// One line of the list at the top of a refused form, linking to its field when it has one.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub anchor: Option<String>,
    pub text: String,
}

impl Flagged {
    pub fn text(text: String) -> Self {
        Flagged { anchor: None, text }
    }
}

/// What a form holds when it is shown: empty the first time, what was typed after a refusal.
#[derive(Debug, Default)]
pub struct Entered {
    typed: Vec<(String, String)>,
    /// (the problem's field path, its input, what is wrong in the page's words)
    problems: Vec<(String, String, String)>,
}

impl Entered {
    /// What was typed, without what must never be shown again.
    pub fn typed(fields: &[(String, String)]) -> Self {
        Entered {
            typed: fields
                .iter()
                .filter(|(k, _)| !NEVER_ECHOED.contains(&k.as_str()))
                .cloned()
                .collect(),
            problems: vec![],
        }
    }

    /// The refusal, field by field, and the list for the top of the page.
    pub fn refused(
        mut self,
        t: &Tr,
        policy: &Policy,
        invalid: &InvalidInput,
    ) -> (Self, Vec<Flagged>) {
        let mut list = vec![];
        for p in &invalid.problems {
            let input = input_of(p).to_string();
            self.problems
                .push((p.field.clone(), input.clone(), problem_text(t, p)));
            list.push(Flagged {
                anchor: Some(self.anchor(&p.field, &input)),
                text: problem_line(t, policy, p),
            });
        }
        (self, list)
    }

    /// The id a form gives the input: its name, dots made dashes.
    fn anchor(&self, field: &str, input: &str) -> String {
        let named = self.typed.iter().any(|(k, _)| k == field);
        if named { field } else { input }.replace('.', "-")
    }

    /// What was typed into `name`, if anything.
    pub fn value(&self, name: &str) -> &str {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// What was typed into `name`, or what is stored when the form is fresh.
    pub fn value_or<'a>(&'a self, name: &str, stored: &'a str) -> &'a str {
        match self.typed.iter().find(|(k, _)| k == name) {
            Some((_, v)) => v,
            None => stored,
        }
    }

    /// Whether the box `name` = `value` was ticked.
    pub fn ticked(&self, name: &str, value: &str) -> bool {
        self.typed.iter().any(|(k, v)| k == name && v == value)
    }

    /// What is wrong with `name` (a form input, or the data map's path), in the page's words.
    pub fn error(&self, name: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(field, input, _)| field == name || input == name)
            .map(|(_, _, text)| text.as_str())
    }
}

/// One text input of a form, with what it holds and what is wrong with it.
#[derive(Debug)]
pub struct TextInput {
    pub id: String,
    pub name: String,
    pub label: String,
    /// `text`, `email`, `password`, `number`, `tel`.
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub max: usize,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
}

impl Entered {
    /// The input `name`, labelled `label`, holding what was typed (or `stored`, when the form
    /// is fresh; a password never), with its problem.
    pub fn input(&self, name: &str, label: String, kind: &'static str, stored: &str) -> TextInput {
        TextInput {
            id: name.replace('.', "-"),
            name: name.to_string(),
            label,
            kind,
            autocomplete: "off",
            max: 200,
            required: false,
            value: if kind == "password" {
                String::new()
            } else {
                self.value_or(name, stored).to_string()
            },
            error: self.error(name).map(str::to_string),
        }
    }
}

impl TextInput {
    pub fn autocomplete(self, autocomplete: &'static str) -> Self {
        TextInput {
            autocomplete,
            ..self
        }
    }

    pub fn max(self, max: usize) -> Self {
        TextInput { max, ..self }
    }

    pub fn required(self) -> Self {
        TextInput {
            required: true,
            ..self
        }
    }
}
