//! `handover plan --format powershell`: the plan as a reviewable
//! Operations Manager Shell script, for teams that must run changes
//! themselves.
//!
//! Owns the script's text: a header (summary, observed digest, what is
//! blocked and left out), helper functions using the same SDK calls as the
//! SCOM provider (`providers/scom/handover-scom.ps1`: an agent's
//! `SetManagementServers($primary, $failovers)`, a gateway's
//! `ManagementGroupAdministration.SetManagementServer`), then the plan's
//! steps in waves of `policy.maxInFlight` members ([`super::waves`]): each
//! wave's bridges, one polling loop for its acknowledgments that polls
//! only the members still waiting (a timeout stops the script before any
//! later prune, so nobody is stranded), its prunes; retirements as manual comments
//! (the provider does not support them), and store steps through
//! [`super::store::powershell`]. Every name is written through [`quote`]
//! (`super::quote`, shared with the store steps).
//! Pure: plan in, text out; must not plan or touch I/O.

use super::waves::Phase;
use crate::model::MemberKind;
use crate::plan::{Action, BlockedKind, Plan, Step};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

pub use super::quote::quote;

/// Text safe inside a `#` comment: one line (line breaks and other control
/// characters become spaces).
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// How the script waits.
#[derive(Clone, Copy, Debug)]
pub struct Waits {
    /// How long a member may take to report to its new primary
    /// (`policy.ackTimeout`).
    pub ack_timeout: Duration,
    /// Pause between two polls.
    pub poll_interval: Duration,
    /// Members started together, one wave at a time, when the plan does
    /// not record its policy (`policy.maxInFlight`).
    pub max_in_flight: u32,
}

impl Default for Waits {
    fn default() -> Self {
        Waits {
            ack_timeout: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(15),
            max_in_flight: 100,
        }
    }
}

const HELPERS: &str = r#"$ErrorActionPreference = 'Stop'
Import-Module OperationsManager
New-SCOMManagementGroupConnection -ComputerName $ManagementServer | Out-Null


function Get-Server([string]$Name) {
    $s = Get-SCOMManagementServer -Name $Name       # management servers and gateways
    if (-not $s) { throw "no management server or gateway named $Name in this management group" }
    return $s
}

function Get-ServerList([string[]]$Names) {
    $list = New-Object 'System.Collections.Generic.List[Microsoft.EnterpriseManagement.Administration.ManagementServer]'
    foreach ($n in $Names) { $list.Add((Get-Server $n)) }
    return ,$list
}

# One change: primary and failovers together (never two
# Set-SCOMParentManagementServer calls, which leave a window).
function Set-AgentParents([string]$Name, [string]$Primary, [string[]]$Failover) {
    $agent = Get-SCOMAgent -DNSHostName $Name
    if (-not $agent) { throw "no agent named $Name in this management group" }
    $agent.SetManagementServers((Get-Server $Primary), (Get-ServerList $Failover))
}

function Set-GatewayParents([string]$Name, [string]$Primary, [string[]]$Failover) {
    $gateway = Get-SCOMGatewayManagementServer -Name $Name
    if (-not $gateway) { throw "no gateway named $Name in this management group" }
    $list = New-Object 'System.Collections.Generic.List[Microsoft.EnterpriseManagement.Administration.ManagementServer]'
    $list.Add($gateway)
    (Get-SCOMManagementGroup).Administration.SetManagementServer($list, (Get-Server $Primary), (Get-ServerList $Failover))
}

# The member's Health Service instance (agents and gateways alike).
function Get-HealthService([string]$Name) {
    $class = Get-SCOMClass -Name 'Microsoft.SystemCenter.HealthService'
    return Get-SCOMClassInstance -Class $class | Where-Object { $_.DisplayName -eq $Name } | Select-Object -First 1
}

# Heartbeating ("not grey"): the member's Health Service instance is available.
function Test-Available([string]$Name) {
    $hs = Get-HealthService $Name
    return [bool]($hs -and $hs.IsAvailable)
}

# Reports to its new primary: heartbeating, and the member itself has
# learned its bridge, the new primary first in its Parent Health Services
# list. The list is read by the Handover.Evidence agent task
# (providers/scom/Handover.Evidence.xml; import it first), which runs
# through the management group, so it works for agents behind gateways
# (DMZ, workgroup, untrusted domains) whose event logs cannot be read
# remotely. This is the evidence the SCOM provider reports.
function Test-Connected([string]$Name, [string]$Primary) {
    $hs = Get-HealthService $Name
    if (-not ($hs -and $hs.IsAvailable)) { return $false }
    $task = Get-SCOMTask -Name 'Handover.Evidence.ReadParentHealthServices'
    if (-not $task) { throw "task Handover.Evidence.ReadParentHealthServices not found: import providers/scom/Handover.Evidence.xml into the management group first" }
    $batch = Start-SCOMTask -Task $task -Instance $hs
    $deadline = (Get-Date).AddSeconds(120)
    do {
        Start-Sleep -Seconds 2
        $r = Get-SCOMTaskResult -BatchID $batch.BatchId | Select-Object -First 1
    } while ($r -and ($r.Status -in 'Scheduled', 'Started') -and (Get-Date) -lt $deadline)
    if (-not $r -or $r.Status -ne 'Succeeded') { return $false }
    $learned = @("$(([xml]$r.Output).DataItem.StdOut)".Trim() -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
    return ($learned.Count -gt 0 -and $learned[0] -eq $Primary)
}

# Polls the members of one wave until each passes its test, polling again
# only those still waiting; on timeout stops the whole script before any
# later prune: members still in their bridge keep their old parents as
# failovers (safe), and nothing else is pruned.
function Wait-All([string]$Wave, [System.Collections.Specialized.OrderedDictionary]$Tests) {
    $deadline = (Get-Date).AddSeconds($AckTimeoutSeconds)
    $left = [ordered]@{}
    foreach ($k in $Tests.Keys) { $left[$k] = $Tests[$k] }
    while ($left.Count -gt 0) {
        foreach ($k in @($left.Keys)) {
            if (& $left[$k]) { Write-Host "ok: $k"; $left.Remove($k) }
        }
        if ($left.Count -eq 0) { break }
        if ((Get-Date) -ge $deadline) {
            throw "timed out after $AckTimeoutSeconds s in $Wave waiting until: $(@($left.Keys) -join '; '). Stopped before pruning: every member is still in its bridge or done (safe). Check them, then run the remaining steps (or plan again)."
        }
        Start-Sleep -Seconds $PollSeconds
    }
}
"#;

/// The plan as an Operations Manager Shell script (see the module doc).
pub fn render(plan: &Plan, waits: &Waits) -> String {
    let mut out = String::new();
    out.push_str("# handover plan, as an Operations Manager Shell script to run by hand.\n");
    out.push_str(
        "# Review every step before running it; it performs the plan make-before-break:\n",
    );
    out.push_str(
        "# bridge (new primary, desired failovers, old parents kept as extra failovers),\n",
    );
    out.push_str("# wait until the member reports to its new primary, then prune.\n#\n");
    let _ = writeln!(out, "# Plan: {}.", super::text::summary_line(plan));
    let _ = writeln!(
        out,
        "# Observed digest (revision): {}",
        comment(
            plan.observed_digest
                .as_deref()
                .unwrap_or("none (a hand-made plan)")
        )
    );
    out.push_str("# Plan again and compare the digest if the estate may have changed since.\n");
    if !plan.blocked.is_empty() {
        out.push_str("#\n# Blocked, not in this script:\n");
        for b in &plan.blocked {
            let what = match b.kind {
                BlockedKind::Gateway => "gateway",
                BlockedKind::Agent => "agent",
                BlockedKind::Store => "Central Management Store in pool",
            };
            let _ = writeln!(
                out,
                "#   {what} {}: {}",
                comment(b.name.as_str()),
                comment(&b.reason.to_string())
            );
        }
    }
    let store = plan.steps.iter().any(|st| {
        matches!(
            st.action,
            Action::AwaitReplication { .. }
                | Action::StoreFailover { .. }
                | Action::AwaitStoreActive { .. }
        )
    });
    if store {
        out.push_str("#\n# The Central Management Store steps run in the Skype for Business Server\n# Management Shell on a server of the pool named (Import-Module SkypeForBusiness).\n");
    }
    out.push('\n');
    out.push_str("param(\n    # A management server of this management group, for the SDK connection.\n    [Parameter(Mandatory = $true)][string]$ManagementServer\n)\n\n");
    let _ = writeln!(out, "$AckTimeoutSeconds = {}", waits.ack_timeout.as_secs());
    let _ = writeln!(
        out,
        "$PollSeconds = {}",
        waits.poll_interval.as_secs().max(1)
    );
    out.push_str(HELPERS);
    if plan.steps.is_empty() {
        out.push_str(if plan.blocked.is_empty() {
            "\n# No changes: the estate already equals the desired topology.\n"
        } else {
            "\n# Nothing to run: every change is blocked (see the header); plan again once they are unblocked.\n"
        });
        return out;
    }
    let in_flight = plan
        .policy
        .as_ref()
        .map_or(waits.max_in_flight, |p| p.max_in_flight);
    let ordered = ordered(&plan.steps);
    let waves = super::waves::waves(&ordered, in_flight);
    let _ = writeln!(
        out,
        "\n# {} in {}: at most {} members in flight (policy.maxInFlight); each wave bridges\n# its members, waits until all of them report to their new primaries (polling only\n# those still waiting), then prunes them.",
        plural(plan.steps.len(), "step"),
        plural(waves.len(), "wave"),
        in_flight.max(1)
    );
    for (i, wave) in waves.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n# ---- wave {} of {}: {} ----",
            i + 1,
            waves.len(),
            match (wave.members, wave.store) {
                (0, true) => "the Central Management Store".to_string(),
                (n, true) => format!("{} and the Central Management Store", plural(n, "member")),
                (n, false) => plural(n, "member"),
            }
        );
        for phase in &wave.phases {
            match phase {
                Phase::Run(steps) => {
                    for step in steps {
                        out.push('\n');
                        step_text(&mut out, step);
                    }
                }
                Phase::Wait(steps) => {
                    out.push('\n');
                    wait_text(&mut out, steps, &format!("wave {}", i + 1));
                }
            }
        }
    }
    out.push_str("\nWrite-Host 'Done: every step of the plan ran.'\n");
    out
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// The waits of one phase of a wave: a comment per step, then one
/// `Wait-All` over all of them.
fn wait_text(out: &mut String, steps: &[&Step], wave: &str) {
    let mut tests = String::new();
    for step in steps {
        let after = after_text(step);
        match &step.action {
            Action::AwaitConnected { kind, name, server } => {
                let _ = writeln!(
                    out,
                    "# step {}{after}: wait until {kind} {} reports to its new primary {}",
                    step.id,
                    comment(name.as_str()),
                    comment(server.as_str())
                );
                let _ = writeln!(
                    tests,
                    "    {} = {{ Test-Connected {} {} }}",
                    quote(&format!(
                        "{kind} {} reports to {}",
                        name.as_str(),
                        server.as_str()
                    )),
                    quote(name.as_str()),
                    quote(server.as_str())
                );
            }
            Action::AwaitReady { kind, name } => {
                let _ = writeln!(
                    out,
                    "# step {}{after}: wait until {kind} {} is up and heartbeating",
                    step.id,
                    comment(name.as_str())
                );
                let _ = writeln!(
                    tests,
                    "    {} = {{ Test-Available {} }}",
                    quote(&format!("{kind} {} is up", name.as_str())),
                    quote(name.as_str())
                );
            }
            // Not a wait: `waves` puts only waits in a wait phase.
            _ => {}
        }
    }
    if !tests.is_empty() {
        let _ = writeln!(out, "Wait-All {} ([ordered]@{{\n{tests}}})", quote(wave));
    }
}

/// ` (after 1, 2)`, or nothing for a step that waits for nothing.
fn after_text(step: &Step) -> String {
    if step.after.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = step.after.iter().map(u32::to_string).collect();
        format!(" (after {})", ids.join(", "))
    }
}

/// The steps in causal order: by id, each after everything in its `after`
/// (ids need not be sorted that way, though the planner numbers them so).
fn ordered(steps: &[Step]) -> Vec<&Step> {
    let by_id: BTreeMap<u32, &Step> = steps.iter().map(|s| (s.id, s)).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::with_capacity(steps.len());
    fn visit<'a>(
        id: u32,
        by_id: &BTreeMap<u32, &'a Step>,
        done: &mut BTreeSet<u32>,
        out: &mut Vec<&'a Step>,
    ) {
        if !done.insert(id) {
            return;
        }
        let Some(step) = by_id.get(&id) else { return };
        for a in &step.after {
            visit(*a, by_id, done, out);
        }
        out.push(step);
    }
    for id in by_id.keys() {
        visit(*id, &by_id, &mut done, &mut out);
    }
    out
}

fn list(names: &[crate::name::Name]) -> String {
    if names.is_empty() {
        return "@()".into();
    }
    let q: Vec<String> = names.iter().map(|n| quote(n.as_str())).collect();
    format!("@({})", q.join(", "))
}

fn step_text(out: &mut String, step: &Step) {
    let after = after_text(step);
    match &step.action {
        Action::SetParents {
            kind,
            name,
            primary,
            failover,
            bridge,
        } => {
            let what = if *bridge { "bridge" } else { "set parents of" };
            let _ = writeln!(
                out,
                "# step {}{after}: {what} {kind} {}: primary {}, failover [{}]",
                step.id,
                comment(name.as_str()),
                comment(primary.as_str()),
                comment(
                    &failover
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            );
            let f = match kind {
                MemberKind::Agent => "Set-AgentParents",
                MemberKind::Gateway => "Set-GatewayParents",
            };
            let _ = writeln!(
                out,
                "{f} -Name {} -Primary {} -Failover {}",
                quote(name.as_str()),
                quote(primary.as_str()),
                list(failover)
            );
        }
        Action::AwaitConnected { .. } | Action::AwaitReady { .. } => {
            wait_text(out, &[step], "this step");
        }
        Action::RetireGateway { name, .. } => {
            let _ = writeln!(
                out,
                "# step {}{after}: retire gateway {}: BY HAND. The SCOM provider does not\n# support retiring a gateway; nothing lists it any more. Uninstall the gateway\n# role on it, then delete it under Administration > Management Servers.\n# Get-SCOMGatewayManagementServer -Name {}",
                step.id,
                comment(name.as_str()),
                quote(name.as_str())
            );
        }
        action @ (Action::AwaitReplication { .. }
        | Action::StoreFailover { .. }
        | Action::AwaitStoreActive { .. }) => {
            let _ = writeln!(out, "# step {}{after}: Central Management Store", step.id);
            out.push_str(&super::store::powershell(action).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a\nRemove-Item x\r\n"), "a Remove-Item x  ");
    }

    #[test]
    fn hostile_names_cannot_reach_a_step_so_quote_is_the_defence() {
        // Validation refuses quotes in host names, so no step can carry
        // one; the renderer still writes every name through quote(),
        // tested directly above.
        for hostile in ["evil'; Stop-Computer; '", "a\u{2019}b", "a\nb"] {
            assert!(crate::name::Name::parse(hostile).is_err(), "{hostile:?}");
        }
    }

    #[test]
    fn steps_run_after_what_they_wait_for() {
        let n = |s: &str| crate::name::Name::parse(s).unwrap();
        let step = |id, after: Vec<u32>| Step {
            id,
            action: Action::RetireGateway {
                kind: MemberKind::Gateway,
                name: n("gw1"),
            },
            after,
        };
        let steps = vec![step(1, vec![3]), step(2, vec![]), step(3, vec![2])];
        let ids: Vec<u32> = ordered(&steps).iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![2, 3, 1]);
    }
}
