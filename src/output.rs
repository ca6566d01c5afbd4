//! A run's output folder: the resolved scenario, the topology statistics,
//! the trace (when asked), `summary.json` and the report.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use reports::Summary;
use scenarios::Scenario;
use sim::trace::{JsonLinesWriter, Record, RunInfo, TraceSink};

use crate::error::FileOp;
use crate::{PipelineError, RunOutput};

/// The folder a run writes to.
#[derive(Clone, Debug)]
pub struct RunFolder {
    dir: PathBuf,
}

impl RunFolder {
    /// Creates `dir` (and its parents) if needed.
    pub fn create(dir: impl Into<PathBuf>) -> Result<Self, PipelineError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(PipelineError::io(FileOp::Create, &dir))?;
        Ok(RunFolder { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `name` in the folder; returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> Result<PathBuf, PipelineError> {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).map_err(PipelineError::io(FileOp::Write, &path))?;
        Ok(path)
    }

    /// `scenario.resolved.yaml`: the exact run, every default filled in.
    pub fn write_scenario(&self, scenario: &Scenario) -> Result<PathBuf, PipelineError> {
        self.write("scenario.resolved.yaml", scenarios::to_yaml(scenario))
    }

    /// `topology.json`: degree, component and diameter statistics.
    pub fn write_topology(&self, info: &RunInfo) -> Result<PathBuf, PipelineError> {
        let json = serde_json::to_string_pretty(&info.topology).expect("statistics serialise");
        self.write("topology.json", json)
    }

    /// `summary.json`.
    pub fn write_summary(&self, summary: &Summary) -> Result<PathBuf, PipelineError> {
        self.write("summary.json", summary.to_json())
    }

    /// The CSV tables of `output` only (`--no-report`).
    pub fn write_tables(&self, output: &RunOutput) -> Result<Vec<PathBuf>, PipelineError> {
        Ok(output.report().write_tables(&self.dir)?)
    }

    /// The whole report of `output`: tables, plots, `report.html` and
    /// `summary.md`; returns the path of `report.html`.
    pub fn write_report(&self, output: &RunOutput) -> Result<PathBuf, PipelineError> {
        Ok(output.report().write_all(&self.dir)?)
    }

    /// Starts `trace.jsonl`: the whole trace as JSON Lines.
    pub fn trace_file(&self) -> Result<TraceFile, PipelineError> {
        let path = self.dir.join("trace.jsonl");
        let file = File::create(&path).map_err(PipelineError::io(FileOp::Create, &path))?;
        Ok(TraceFile {
            writer: JsonLinesWriter::new(BufWriter::new(file)),
            path,
        })
    }
}

/// A trace being written to a file; a trace sink.
pub struct TraceFile {
    writer: JsonLinesWriter<BufWriter<File>>,
    path: PathBuf,
}

impl TraceSink for TraceFile {
    fn observe(&mut self, batch: &[Record]) {
        self.writer.observe(batch);
    }
}

impl TraceFile {
    /// Flushes the file; reports any write that failed on the way.
    pub fn finish(self) -> Result<(), PipelineError> {
        self.writer
            .finish()
            .map(drop)
            .map_err(PipelineError::io(FileOp::Write, self.path))
    }
}
