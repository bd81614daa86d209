//! `handover plan --format powershell`: the plan as a reviewable
//! Operations Manager Shell script, for teams that must run changes
//! themselves.
//!
//! Owns the script's text: a header (summary, observed digest, what is
//! blocked and left out), helper functions using the same SDK calls as the
//! SCOM provider (`providers/scom/handover-scom.ps1`: an agent's
//! `SetManagementServers($primary, $failovers)`, a gateway's
//! `ManagementGroupAdministration.SetManagementServer`), then every step in
//! the plan's causal order: bridges and prunes, polling loops with a
//! timeout for acknowledgments (a timeout stops the script before any
//! later prune, so nobody is stranded), retirements as manual comments
//! (the provider does not support them), and store steps through
//! [`super::store::powershell`]. Every name is written through [`quote`]
//! (`super::quote`, shared with the store steps).
//! Pure: plan in, text out; must not plan or touch I/O.

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
}

impl Default for Waits {
    fn default() -> Self {
        Waits {
            ack_timeout: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(15),
        }
    }
}

const HELPERS: &str = r#"$ErrorActionPreference = 'Stop'
Import-Module OperationsManager
New-SCOMManagementGroupConnection -ComputerName $ManagementServer | Out-Null

# When this script changed each member, to read its acknowledgment after it.
$ScriptStart = Get-Date
$Changed = @{}

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
    $Changed[$Name] = Get-Date
    $agent.SetManagementServers((Get-Server $Primary), (Get-ServerList $Failover))
}

function Set-GatewayParents([string]$Name, [string]$Primary, [string[]]$Failover) {
    $gateway = Get-SCOMGatewayManagementServer -Name $Name
    if (-not $gateway) { throw "no gateway named $Name in this management group" }
    $list = New-Object 'System.Collections.Generic.List[Microsoft.EnterpriseManagement.Administration.ManagementServer]'
    $list.Add($gateway)
    $Changed[$Name] = Get-Date
    (Get-SCOMManagementGroup).Administration.SetManagementServer($list, (Get-Server $Primary), (Get-ServerList $Failover))
}

# Heartbeating ("not grey"): the member's Health Service instance is available.
function Test-Available([string]$Name) {
    $class = Get-SCOMClass -Name 'Microsoft.SystemCenter.HealthService'
    $hs = Get-SCOMClassInstance -Class $class | Where-Object { $_.DisplayName -eq $Name }
    return [bool]($hs -and $hs.IsAvailable)
}

# Reports to its new primary: heartbeating, and its own "Operations Manager"
# event log shows event 1210 (new configuration active) since the change
# (since this script started, for a member it found already in its bridge).
# This is how the SCOM provider derives `connected`.
function Test-Connected([string]$Name) {
    if (-not (Test-Available $Name)) { return $false }
    $since = $Changed[$Name]
    if (-not $since) { $since = $ScriptStart }
    try {
        $ev = Get-WinEvent -ComputerName $Name -MaxEvents 1 -FilterHashtable @{
            LogName = 'Operations Manager'; Id = 1210; StartTime = $since }
        return [bool]$ev
    } catch {
        Write-Warning "cannot read event 1210 on ${Name}: $($_.Exception.Message)"
        return $false
    }
}

# Polls until $Test is true; on timeout stops the whole script, before any
# later step: members already bridged keep their old parents as failovers
# (safe), and nothing is pruned.
function Wait-Until([string]$What, [scriptblock]$Test) {
    $deadline = (Get-Date).AddSeconds($AckTimeoutSeconds)
    while (-not (& $Test)) {
        if ((Get-Date) -ge $deadline) {
            throw "timed out after $AckTimeoutSeconds s waiting until $What. Stopped before pruning: every member is still in its bridge or done (safe). Check it, then run the remaining steps (or plan again)."
        }
        Start-Sleep -Seconds $PollSeconds
    }
    Write-Host "ok: $What"
}
"#;

/// The plan as an Operations Manager Shell script (see the module doc).
pub fn render(plan: &Plan, waits: &Waits) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    out.push_str("# handover plan, as an Operations Manager Shell script to run by hand.\n");
    out.push_str(
        "# Review every step before running it; it performs the plan make-before-break:\n",
    );
    out.push_str(
        "# bridge (new primary, desired failovers, old parents kept as extra failovers),\n",
    );
    out.push_str("# wait until the member reports to its new primary, then prune.\n#\n");
    let _ = writeln!(
        out,
        "# Plan: steps {}; members moving {} (through a bridge {}); gateways retired {}; blocked {}; unmanaged agents {}.",
        s.changes, s.moves, s.bridged, s.retired, s.blocked, s.unmanaged
    );
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
    for step in ordered(&plan.steps) {
        out.push('\n');
        step_text(&mut out, step);
    }
    out.push_str("\nWrite-Host 'Done: every step of the plan ran.'\n");
    out
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
    let after = if step.after.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = step.after.iter().map(u32::to_string).collect();
        format!(" (after {})", ids.join(", "))
    };
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
        Action::AwaitConnected { kind, name, server } => {
            let _ = writeln!(
                out,
                "# step {}{after}: wait until {kind} {} reports to its new primary {}",
                step.id,
                comment(name.as_str()),
                comment(server.as_str())
            );
            let _ = writeln!(
                out,
                "Wait-Until ({} + {} + {}) {{ Test-Connected {} }}",
                quote(&format!("{kind} ")),
                quote(name.as_str()),
                quote(&format!(" reports to {}", server.as_str())),
                quote(name.as_str())
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
                out,
                "Wait-Until ({} + {} + ' is up') {{ Test-Available {} }}",
                quote(&format!("{kind} ")),
                quote(name.as_str()),
                quote(name.as_str())
            );
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
