//! The progress bar: indicatif's with the `progress` feature (on by default). Without the
//! feature there is no bar ([`Bar`] has no value), so [`crate::ProgressMode::Auto`] and
//! [`crate::ProgressMode::Bar`] show one log line per epoch instead.

/// A progress bar over a run's steps.
#[cfg(feature = "progress")]
pub(crate) struct Bar(indicatif::ProgressBar);

/// A progress bar over a run's steps: none can exist without the `progress` feature.
#[cfg(not(feature = "progress"))]
pub(crate) enum Bar {}

impl Bar {
    /// A bar of `total` steps standing at `position`; `None` without the `progress`
    /// feature.
    pub(crate) fn start(total: u64, position: u64) -> Option<Bar> {
        #[cfg(feature = "progress")]
        {
            use indicatif::{ProgressBar, ProgressStyle};
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} steps [{elapsed_precise}<{eta_precise}] {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(position);
            Some(Bar(bar))
        }
        #[cfg(not(feature = "progress"))]
        {
            let _ = (total, position);
            None
        }
    }

    /// Advances the bar by `steps`.
    pub(crate) fn inc(&self, steps: u64) {
        #[cfg(feature = "progress")]
        self.0.inc(steps);
        #[cfg(not(feature = "progress"))]
        {
            let _ = steps;
            match *self {}
        }
    }

    /// Sets the text beside the bar.
    pub(crate) fn set_message(&self, message: String) {
        #[cfg(feature = "progress")]
        self.0.set_message(message);
        #[cfg(not(feature = "progress"))]
        {
            let _ = message;
            match *self {}
        }
    }

    /// Prints a line above the bar.
    pub(crate) fn println(&self, line: String) {
        #[cfg(feature = "progress")]
        self.0.println(line);
        #[cfg(not(feature = "progress"))]
        {
            let _ = line;
            match *self {}
        }
    }

    /// Removes the bar from the terminal.
    pub(crate) fn finish_and_clear(&self) {
        #[cfg(feature = "progress")]
        self.0.finish_and_clear();
        #[cfg(not(feature = "progress"))]
        match *self {}
    }
}
