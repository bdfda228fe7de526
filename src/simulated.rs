//! `simulate = true` targets: start an in-process vendor simulator for each and point the
//! target at it, so the bridge can be tried end to end without a vendor account.

use secrecy::SecretString;

use crate::config::{Config, TargetKind};
use crate::sim::SimServer;
use crate::sim::abnormal::AbnormalSim;
use crate::sim::carbon_black::{CarbonBlackSim, CarbonBlackSimConfig};
use crate::sim::contrast::{BASE_PATH, ContrastSim};

/// The running simulators, kept alive as long as the application.
#[derive(Default)]
pub struct Simulators {
    pub contrast: Vec<(String, ContrastSim)>,
    pub carbon_black: Vec<(String, CarbonBlackSim)>,
    pub abnormal: Vec<(String, AbnormalSim)>,
    pub servers: Vec<(String, SimServer)>,
}

/// Accounts the Abnormal simulator starts with (`person1@example.com` … `person25@example.com`).
pub const SIMULATED_ABNORMAL_PEOPLE: usize = 25;

/// Starts one simulator per `simulate = true` target and rewrites its connection settings.
pub async fn attach(config: &mut Config) -> std::io::Result<Simulators> {
    let mut sims = Simulators::default();
    for (name, t) in config.targets.iter_mut().filter(|(_, t)| t.simulate) {
        let server = match t.kind {
            Some(TargetKind::Contrast) => {
                let sim = ContrastSim::default();
                let server = sim.start().await?;
                let c = sim.config();
                t.base_url = Some(format!("{}{BASE_PATH}", server.base_url()));
                t.org_uuid = Some(c.org_uuid.clone());
                t.username = Some(c.username.clone());
                t.service_key = Some(SecretString::from(c.service_key.clone()));
                t.api_key = Some(SecretString::from(c.api_key.clone()));
                if t.groups.is_empty() {
                    // The simulator's access groups, so group push works out of the box.
                    for g in sim.groups() {
                        t.groups.insert(g.name.clone(), g.group_id.clone());
                    }
                }
                sims.contrast.push((name.clone(), sim));
                server
            }
            Some(TargetKind::CarbonBlack) => {
                let cfg = CarbonBlackSimConfig::default();
                let sim = CarbonBlackSim::new(cfg.clone());
                let server = sim.start().await?;
                t.base_url = Some(server.base_url());
                t.region = None;
                t.org_key = Some(cfg.org_key);
                t.api_id = Some(cfg.api_id);
                t.api_secret = Some(SecretString::from(cfg.api_secret));
                sims.carbon_black.push((name.clone(), sim));
                server
            }
            Some(TargetKind::Abnormal) => {
                let sim = AbnormalSim::seeded(SIMULATED_ABNORMAL_PEOPLE, 42);
                let server = sim.start().await?;
                t.base_url = Some(server.base_url());
                t.token = Some(SecretString::from(sim.config().token.clone()));
                sims.abnormal.push((name.clone(), sim));
                server
            }
            None => continue,
        };
        tracing::warn!(target_name = %name, url = %server.base_url(), "target uses an in-process SIMULATED vendor (simulate = true)");
        sims.servers.push((name.clone(), server));
    }
    Ok(sims)
}
