//! The events of a line.

/// An event of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LineEvent {
    /// Fluid line: a buffer fills or empties, a product boundary or a failure clock is
    /// reached. Stale unless `epoch` matches the line's.
    Flow { epoch: u32 },
    /// Discrete line: a station finishes its unit, or an operating-time failure strikes
    /// during it. Stale unless `epoch` matches the station's.
    Done { station: u16, epoch: u32 },
    /// Discrete line: the next unit arrives at the source.
    Arrival,
    /// Discrete line: a unit on a conveyor has done its transport time.
    TransitReady { buffer: u16 },
    /// A calendar-time failure strikes.
    CalendarFailure { station: u16, mode: u8 },
    /// A failure (or micro-stop) is repaired.
    Repair { station: u16, mode: u8 },
    /// A changeover ends.
    SetupDone { station: u16 },
    /// A planned stop begins (and schedules its next occurrence).
    StopStart { stop: u16 },
    /// A planned stop ends.
    StopEnd { stop: u16 },
    /// A level switch's time-out ran out. Stale unless `epoch` matches the switch's.
    SwitchDue { switch: u16, epoch: u32 },
    /// A duration campaign's time is up. Stale unless `epoch` matches the cursor's.
    CampaignEnd { epoch: u32 },
    /// A stop the plant reported has lasted its time. Stale unless `epoch` matches the
    /// station's report epoch (a later report decides).
    ReportedUp { station: u16, epoch: u32 },
}
