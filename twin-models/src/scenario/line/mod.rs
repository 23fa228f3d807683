//! The lines: stations joined by buffers and conveyors, fed by a source, emptied into a
//! sink, with failures, a production schedule and planned stops.

pub mod file;
pub mod model;
pub(crate) mod resolve;

pub use file::{
    BufferFile, CampaignFile, CapacityFile, ChangeoverFile, ChangeoverTimeFile, EngineChoice,
    FailureBasis, FailureFile, LineFile, MicroStopFile, PlannedStopFile, ScheduleFile,
    SequenceFile, SourceFile, SourceKind, StationFile, StationKind, WhenFull,
};
pub use model::{
    Buffer, Campaign, CampaignAmount, FailureMode, Line, PlannedStop, Process, Source, Station,
};
