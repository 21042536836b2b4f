//! The words of unit enums: the one name each variant has in storage, in the API and in the
//! audit log, written and read in one place.

/// `words!(OrderState { Pending => "pending", Paid => "paid" })` gives the enum `ALL`,
/// `as_str` and `parse`.
macro_rules! words {
    ($name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

pub(crate) use words;
