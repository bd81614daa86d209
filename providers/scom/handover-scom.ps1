#Requires -Version 5.1
<#
.SYNOPSIS
  handover exec provider for System Center Operations Manager 2012 and later,
  and (with -ManagementStore) the Skype for Business Central Management Store.

.DESCRIPTION
  Speaks protocol 1 of docs/provider-protocol.md: reads ONE JSON request from
  stdin, writes ONE JSON response to stdout, exits 0 on success and 1 on
  failure. Diagnostics go to stderr only. One process per request.

  Requests:
    capabilities  -> the operations below
    observe       -> management servers, gateways, agents (and the store)
    apply         -> set_parents (ONE SDK call for primary and failovers),
                     retire_gateway (refused: see docs/scom-provider.md),
                     store_failover (Invoke-CsManagementServerFailover)

  How `connected`, `up` and `ready` are derived is documented, with its
  limits, in docs/scom-provider.md. In short: a member is only reported
  connected to a NEW primary after its own "Operations Manager" event log
  shows event 1210 (new configuration active) after the change this script
  made; until then it is reported on its previous parent, so handover never
  prunes a bridge on a guess.

.EXAMPLE
  handover apply --desired topo/ --target "exec:powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File C:\handover\handover-scom.ps1 -ManagementServer ms1.contoso.local"
#>
param(
    # A management server to connect the SDK to.
    [string]$ManagementServer = 'localhost',
    # Also observe and fail over the Central Management Store.
    [switch]$ManagementStore,
    # Where this script remembers the changes it made (awaiting event 1210).
    [string]$StateDir = (Join-Path $env:ProgramData 'handover\scom-provider')
)

# Nothing but our one response may reach stdout: PowerShell 5.1 writes the
# warning, verbose and information streams to stdout when it is redirected.
$ErrorActionPreference = 'Stop'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
$ProgressPreference = 'SilentlyContinue'
$ProtocolVersion = 1

function Write-Log([string]$Message) { [Console]::Error.WriteLine("handover-scom: $Message") }

function Send-Response($Body, [int]$ExitCode = 0) {
    $Body['protocol'] = $ProtocolVersion
    [Console]::Out.Write((ConvertTo-Json -InputObject $Body -Depth 10 -Compress))
    [Console]::Out.WriteLine()
    exit $ExitCode
}

function Send-Error([string]$Message, [bool]$Retryable) {
    Send-Response @{ ok = $false; error = @{ message = $Message; retryable = $Retryable } } 1
}

# Errors worth a retry: the SDK service (port 5724) busy or unreachable.
function Test-Retryable($ErrorRecord) {
    $e = $ErrorRecord.Exception
    while ($e) {
        $t = $e.GetType().FullName
        if ($t -match 'ServerDisconnectedException|ServiceNotRunningException|TimeoutException|EnterpriseManagementException.*Busy') { return $true }
        $e = $e.InnerException
    }
    return $false
}

# ---- remembered changes: name -> { server, previous, since } -----------------
function Get-ChangeFile { Join-Path $StateDir 'changes.json' }
function Read-Changes {
    $f = Get-ChangeFile
    $h = @{}
    if (Test-Path $f) {
        (Get-Content -Raw $f | ConvertFrom-Json).PSObject.Properties | ForEach-Object { $h[$_.Name] = $_.Value }
    }
    return $h
}
function Write-Changes($Changes) {
    if (-not (Test-Path $StateDir)) { New-Item -ItemType Directory -Path $StateDir | Out-Null }
    $tmp = (Get-ChangeFile) + '.tmp'
    ConvertTo-Json -InputObject $Changes -Depth 5 | Set-Content -Path $tmp -Encoding UTF8
    Move-Item -Force -Path $tmp -Destination (Get-ChangeFile)
}

# True when the member's own log shows event 1210 ("New configuration became
# active") since the change. Unreachable event log: false (stay in bridge).
function Test-Acknowledged([string]$Name, [datetime]$Since) {
    try {
        $ev = Get-WinEvent -ComputerName $Name -MaxEvents 1 -FilterHashtable @{
            LogName = 'Operations Manager'; Id = 1210; StartTime = $Since }
        return [bool]$ev
    } catch {
        Write-Log "cannot read event 1210 on ${Name}: $($_.Exception.Message)"
        return $false
    }
}

# ---- observe ---------------------------------------------------------------
function Get-Availability {
    # One Health Service instance per agent, gateway and management server;
    # IsAvailable is false once heartbeats stop ("grey").
    $map = @{}
    $class = Get-SCOMClass -Name 'Microsoft.SystemCenter.HealthService'
    foreach ($hs in (Get-SCOMClassInstance -Class $class)) {
        $map[$hs.DisplayName.ToLowerInvariant()] = $hs
    }
    return $map
}

function Get-Connected([string]$Name, [string]$Primary, $HealthService, $Changes) {
    if (-not $HealthService -or -not $HealthService.IsAvailable) { return $null }
    $c = $Changes[$Name.ToLowerInvariant()]
    if (-not $c) { return $Primary }          # steady state: heartbeating, on its primary
    if (Test-Acknowledged $Name ([datetime]$c.since)) {
        $Changes.Remove($Name.ToLowerInvariant())
        $script:ChangesDirty = $true
        return $c.server
    }
    return $c.previous                      # still talking to its old parent
}

function Get-Observed($Scope) {
    $wanted = $null
    if ($Scope.kind -eq 'members') {
        $wanted = @{}
        foreach ($m in $Scope.members) { $wanted[$m.ToLowerInvariant()] = $true }
    }
    $health = Get-Availability
    $changes = Read-Changes
    $script:ChangesDirty = $false

    $servers = @(Get-SCOMManagementServer | Where-Object { -not $_.IsGateway } | ForEach-Object {
        $hs = $health[$_.Name.ToLowerInvariant()]
        @{ name = $_.Name; up = [bool]($hs -and $hs.IsAvailable) }
    })

    $gateways = @(Get-SCOMGatewayManagementServer |
        Where-Object { -not $wanted -or $wanted[$_.Name.ToLowerInvariant()] } | ForEach-Object {
        $hs = $health[$_.Name.ToLowerInvariant()]
        $primary = $_.GetPrimaryManagementServer().Name
        $up = [bool]($hs -and $hs.IsAvailable)
        @{
            name      = $_.Name
            primary   = $primary
            failover  = @($_.GetFailoverManagementServers() | ForEach-Object { $_.Name })
            connected = Get-Connected $_.Name $primary $hs $changes
            up        = $up
            # Approved (listed at all), and has received configuration and
            # reports health: HealthState leaves Uninitialized only then.
            ready     = [bool]($up -and $_.HealthState -ne 'Uninitialized')
        }
    })

    $agents = @(Get-SCOMAgent |
        Where-Object { -not $wanted -or $wanted[$_.Name.ToLowerInvariant()] } | ForEach-Object {
        $primary = $_.PrimaryManagementServerName
        @{
            name      = $_.Name
            primary   = $primary
            failover  = @($_.GetFailoverManagementServers() | ForEach-Object { $_.Name })
            connected = Get-Connected $_.Name $primary $health[$_.Name.ToLowerInvariant()] $changes
        }
    })
    if ($script:ChangesDirty) { Write-Changes $changes }

    $observed = [ordered]@{
        apiVersion = 'handover/v1'; kind = 'Observed'
        managementServers = $servers; gateways = $gateways; agents = $agents
    }
    if ($ManagementStore) { $observed['managementStore'] = Get-Store }
    return $observed
}

function Get-Store {
    # Active master and file transfer agents; both empty = store unavailable.
    $cms = Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus
    $replicas = @(Get-CsManagementStoreReplicationStatus)
    $active = $null
    if ($cms.ActiveMasterFqdn -and $cms.ActiveFileTransferAgents) {
        $active = (Get-CsPool | Where-Object { $_.Computers -contains $cms.ActiveMasterFqdn }).Fqdn
    }
    $pools = @(Get-CsPool | Where-Object { $_.Services -match 'Registrar' } | ForEach-Object {
        # A pool is up when one of its computers answers on the network.
        @{ name = $_.Fqdn; up = [bool]($_.Computers | Where-Object { Test-Connection -Quiet -Count 1 $_ } | Select-Object -First 1) }
    })
    return @{
        activePool          = $active
        pools               = $pools
        replicationComplete = [bool]($replicas.Count -gt 0 -and -not ($replicas | Where-Object { -not $_.UpToDate }))
    }
}

# ---- apply -----------------------------------------------------------------
function Get-Server([string]$Name) {
    $s = Get-SCOMManagementServer -Name $Name       # management servers and gateways
    if (-not $s) { throw "no management server or gateway named $Name in this management group" }
    return $s
}

function Set-Parents($Op) {
    $primary = Get-Server $Op.primary
    $failover = New-Object 'System.Collections.Generic.List[Microsoft.EnterpriseManagement.Administration.ManagementServer]'
    foreach ($f in $Op.failover) { $failover.Add((Get-Server $f)) }

    if ($Op.kind -eq 'agent') {
        $member = Get-SCOMAgent -DNSHostName $Op.name
        if (-not $member) { throw "no agent named $($Op.name) in this management group" }
        $before = @($member.PrimaryManagementServerName) + @($member.GetFailoverManagementServers() | ForEach-Object { $_.Name })
        $previous = $member.PrimaryManagementServerName
        # ONE change: primary and failovers together (never two
        # Set-SCOMParentManagementServer calls, which leave a window).
        $member.SetManagementServers($primary, $failover)
    } else {
        $member = Get-SCOMGatewayManagementServer -Name $Op.name
        if (-not $member) { throw "no gateway named $($Op.name) in this management group" }
        $before = @($member.GetPrimaryManagementServer().Name) + @($member.GetFailoverManagementServers() | ForEach-Object { $_.Name })
        $previous = $member.GetPrimaryManagementServer().Name
        $list = New-Object 'System.Collections.Generic.List[Microsoft.EnterpriseManagement.Administration.ManagementServer]'
        $list.Add($member)
        $mg = Get-SCOMManagementGroup
        # ManagementGroupAdministration.SetManagementServer(gateways, primary, failovers)
        $mg.Administration.SetManagementServer($list, $primary, $failover)
    }
    $after = @($Op.primary) + @($Op.failover)
    $changed = (($before -join ',').ToLowerInvariant() -ne ($after -join ',').ToLowerInvariant())
    if ($changed -and $previous -ne $Op.primary) {
        # Remember the change until the member acknowledges it (event 1210).
        $changes = Read-Changes
        $key = $Op.name.ToLowerInvariant()
        if ($changes[$key]) { $previous = $changes[$key].previous }
        $changes[$key] = @{ server = $Op.primary; previous = $previous; since = (Get-Date).ToUniversalTime().ToString('o') }
        Write-Changes $changes
    }
    return $changed
}

function Invoke-StoreFailover($Op) {
    if (-not $ManagementStore) { throw 'store_failover needs -ManagementStore (and the SkypeForBusiness module)' }
    $params = @{ Confirm = $false }
    if ($Op.mode -eq 'disaster') {
        # Only in disaster recovery: -Force skips the replication check.
        $params['BackupSqlServerFqdn'] = $Op.backup_sql_server
        $params['Force'] = $true
        if ($Op.backup_sql_instance) { $params['BackupSqlInstanceName'] = $Op.backup_sql_instance }
        if ($Op.backup_mirror_sql_server) { $params['BackupMirrorSqlServerFqdn'] = $Op.backup_mirror_sql_server }
        if ($Op.backup_mirror_sql_instance) { $params['BackupMirrorSqlInstanceName'] = $Op.backup_mirror_sql_instance }
    }
    # managementStore.restore: true in the topology: restore the existing store database.
    if ($Op.restore -eq $true) { $params['Restore'] = $true }
    # Must run on a server of the target pool: check, do not guess.
    $here = [System.Net.Dns]::GetHostEntry('').HostName
    $pool = Get-CsPool -Identity $Op.pool
    if ($pool.Computers -notcontains $here) {
        throw "store_failover to $($Op.pool) must run on a server of that pool; this is $here"
    }
    Invoke-CsManagementServerFailover @params | Out-Null
    return $true
}

# ---- main ------------------------------------------------------------------
try {
    $raw = [Console]::In.ReadToEnd()
    $req = ConvertFrom-Json -InputObject $raw
} catch {
    Send-Error "the request is not JSON: $($_.Exception.Message)" $false
}
if ($req.protocol -ne $ProtocolVersion) {
    Send-Error "protocol $($req.protocol) is not supported; this provider speaks $ProtocolVersion" $false
}

try {
    if ($req.request -eq 'capabilities') {
        $ops = @('set_parents')
        if ($ManagementStore) { $ops += 'store_failover' }
        Send-Response @{ ok = $true; capabilities = @{ operations = $ops; provider = 'handover-scom'; version = '1' } }
    }
    Import-Module OperationsManager | Out-Null
    New-SCOMManagementGroupConnection -ComputerName $ManagementServer | Out-Null
    if ($ManagementStore) { Import-Module SkypeForBusiness | Out-Null }

    switch ($req.request) {
        'observe' { Send-Response @{ ok = $true; observed = (Get-Observed $req.scope) } }
        'apply' {
            $op = $req.operation
            switch ($op.op) {
                'set_parents' { Send-Response @{ ok = $true; changed = [bool](Set-Parents $op) } }
                'store_failover' { Send-Response @{ ok = $true; changed = [bool](Invoke-StoreFailover $op) } }
                default { Send-Error "operation $($op.op) is not supported by handover-scom (see capabilities)" $false }
            }
        }
        default { Send-Error "unknown request $($req.request)" $false }
    }
} catch {
    Write-Log ($_ | Out-String)
    Send-Error "$($req.request): $($_.Exception.Message)" (Test-Retryable $_)
}
