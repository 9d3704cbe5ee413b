//! The dashboards a process serves: the overview and function pages,
//! embedded in the binary from `dashboards/`, and the user dashboards of
//! `dashboards_dir`, read once at start. A file that does not parse is kept
//! as its error, logged at start and shown on its page; the others work.

use super::spec::{self, Dashboard, DashboardError};
use std::collections::BTreeMap;
use std::path::Path;

const OVERVIEW_FILE: &str = "dashboards/overview.yaml";
const OVERVIEW: &str = include_str!("../../../../dashboards/overview.yaml");
const FUNCTION_FILE: &str = "dashboards/function.yaml";
const FUNCTION: &str = include_str!("../../../../dashboards/function.yaml");
/// User dashboard files read at most.
pub const MAX_USER_FILES: usize = 200;

/// A dashboard, or why its file was refused.
pub type Declared = Result<Dashboard, DashboardError>;

/// Every dashboard of the process.
#[derive(Debug, Clone)]
pub struct Dashboards {
    overview: Declared,
    function: Declared,
    /// By name; a refused file by its file stem.
    user: BTreeMap<String, Declared>,
}

impl Default for Dashboards {
    /// The built-in dashboards only.
    fn default() -> Self {
        Self {
            overview: spec::parse(OVERVIEW_FILE, OVERVIEW),
            function: spec::parse(FUNCTION_FILE, FUNCTION),
            user: BTreeMap::new(),
        }
    }
}

impl Dashboards {
    /// The built-in dashboards and those of `dir` (`*.yaml`, `*.yml`);
    /// every refused file is logged with its file, line and field.
    pub fn load(dir: Option<&Path>) -> Self {
        let mut dashboards = Self::default();
        for error in [&dashboards.overview, &dashboards.function]
            .into_iter()
            .filter_map(|declared| declared.as_ref().err())
        {
            tracing::error!(%error, "built-in dashboard refused");
        }
        if let Some(dir) = dir {
            dashboards.user = read_dir(dir);
        }
        for error in dashboards
            .user
            .values()
            .filter_map(|declared| declared.as_ref().err())
        {
            tracing::error!(%error, "dashboard file refused");
        }
        dashboards
    }

    /// Dashboard files refused at start (`tracehouse_dashboard_files_refused`),
    /// built-in ones included, for an alert on a bad deploy of dashboards.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        let refused = [&self.overview, &self.function]
            .into_iter()
            .chain(self.user.values())
            .filter(|declared| declared.is_err())
            .count();
        let gauge = prometheus_client::metrics::gauge::Gauge::<i64>::default();
        gauge.set(i64::try_from(refused).unwrap_or(i64::MAX));
        registry.register(
            "tracehouse_dashboard_files_refused",
            "Dashboard files refused at start (see the log for file, line and field)",
            gauge,
        );
    }

    /// The overview page's dashboard.
    pub fn overview(&self) -> &Declared {
        &self.overview
    }

    /// The function page's dashboard.
    pub fn function(&self) -> &Declared {
        &self.function
    }

    /// A user dashboard by name.
    pub fn user(&self, name: &str) -> Option<&Declared> {
        self.user.get(name)
    }

    /// Every user dashboard by name, refused files included.
    pub fn users(&self) -> impl Iterator<Item = (&String, &Declared)> {
        self.user.iter()
    }
}

fn read_dir(dir: &Path) -> BTreeMap<String, Declared> {
    let mut user = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::error!(dir = %dir.display(), %error, "dashboards directory unreadable");
            return user;
        }
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            let extension = path.extension().and_then(|extension| extension.to_str());
            matches!(extension, Some("yaml" | "yml")) && path.is_file()
        })
        .collect();
    files.sort();
    if files.len() > MAX_USER_FILES {
        tracing::error!(dir = %dir.display(), files = files.len(), "only the first {MAX_USER_FILES} dashboard files are read");
        files.truncate(MAX_USER_FILES);
    }
    for path in files {
        let (key, declared) = read_file(&path);
        let declared = match (user.get(&key), declared) {
            (Some(_), Ok(dashboard)) => Err(DashboardError {
                file: path.display().to_string(),
                line: None,
                column: None,
                message: format!("name: {:?} is used by an earlier file", dashboard.name),
            }),
            (_, declared) => declared,
        };
        let key = match (&declared, user.contains_key(&key)) {
            (Err(_), true) => stem(&path),
            _ => key,
        };
        user.insert(key, declared);
    }
    user
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file's dashboard under its name, or its error under its file stem.
fn read_file(path: &Path) -> (String, Declared) {
    let file = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) if bytes.len() > spec::MAX_FILE_BYTES => {
            Err(format!("larger than {} bytes", spec::MAX_FILE_BYTES))
        }
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned()),
        Err(error) => Err(format!("unreadable: {error}")),
    };
    let declared = text
        .map_err(|message| DashboardError {
            file: file.clone(),
            line: None,
            column: None,
            message,
        })
        .and_then(|text| spec::parse(&file, &text));
    match declared {
        Ok(dashboard) => (dashboard.name.clone(), Ok(dashboard)),
        Err(error) => (stem(path), Err(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_dashboards_parse() {
        let dashboards = Dashboards::default();
        let overview = dashboards.overview().as_ref().expect("overview parses");
        assert!(!overview.per_function && overview.panels.len() >= 9);
        let function = dashboards.function().as_ref().expect("function parses");
        assert!(function.per_function && function.panels.len() >= 6);
    }

    #[test]
    fn a_refused_file_does_not_hide_the_others() {
        let dir =
            std::env::temp_dir().join(format!("tracehouse-dashboards-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let good = "name: good\ntitle: Good\npanels:\n  - title: Cost\n    query: cost\n    chart: line\n    unit: usd\n    place: { row: 1, column: 1, width: 12 }\n";
        std::fs::write(dir.join("a-good.yaml"), good).expect("write");
        std::fs::write(
            dir.join("broken.yml"),
            good.replace("chart: line", "chart: pie"),
        )
        .expect("write");
        std::fs::write(dir.join("twin.yaml"), good).expect("write");
        std::fs::write(dir.join("notes.txt"), "not a dashboard").expect("write");
        let dashboards = Dashboards::load(Some(&dir));
        assert!(dashboards.user("good").is_some_and(Result::is_ok));
        let broken = dashboards
            .user("broken")
            .expect("kept")
            .as_ref()
            .expect_err("refused");
        assert!(
            broken.file.ends_with("broken.yml") && broken.line == Some(6),
            "{broken}"
        );
        let twin = dashboards
            .user("twin")
            .expect("kept")
            .as_ref()
            .expect_err("refused");
        assert!(twin.message.contains("used by an earlier file"), "{twin}");
        assert_eq!(dashboards.users().count(), 3);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}

#[cfg(test)]
mod documentation {
    use super::spec;

    /// The example of `docs/dashboards.md` parses, so the document stays true.
    #[test]
    fn the_documented_example_parses() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboards.md");
        let doc = std::fs::read_to_string(&path).expect("docs/dashboards.md");
        let example = doc
            .split("```yaml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("a yaml block");
        let dashboard = spec::parse("docs/dashboards.md", example).expect("the example parses");
        assert_eq!(dashboard.name, "checkout");
        assert_eq!(dashboard.panels.len(), 9);
        for query in tracehouse_query::panels::NamedQuery::ALL {
            assert!(
                doc.contains(&format!("| `{}` |", query.name())),
                "{} is documented",
                query.name()
            );
        }
    }
}
