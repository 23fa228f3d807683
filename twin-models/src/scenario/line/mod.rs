//! The lines: stations joined by buffers and conveyors, fed by a source, emptied into a
//! sink, with failures, a production schedule and planned stops.

pub mod file;
mod graph;
pub mod model;
pub(crate) mod resolve;

pub use crate::scenario::failure::{FailureBasis, FailureFile};
pub use file::{
    BufferFile, CampaignFile, CapacityFile, ChangeoverFile, ChangeoverTimeFile, CombineRule,
    DivideRule, EngineChoice, LevelFile, LevelSwitchFile, LineFile, MicroStopFile, PlannedStopFile,
    ScheduleFile, SequenceFile, SourceFile, SourceKind, StationFile, StationKind, StationNames,
    WhenFull,
};
pub use model::{
    Buffer, Campaign, CampaignAmount, Divide, FailureMode, LevelSwitch, Line, PlannedStop, Process,
    Source, Station,
};
