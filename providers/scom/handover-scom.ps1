#Requires -Version 5.1
<#
.SYNOPSIS
  handover exec provider for System Center Operations Manager 2012 and later,
  and (with -ManagementStore) the Skype for Business Central Management Store.

.DESCRIPTION
  Reads one JSON request a line on stdin and writes one JSON answer a line on
  stdout until stdin ends (docs/provider-protocol.md). A protocol 1 request
  gets its answer and the script exits (0 ok, 1 failed); protocol 2 requests
  (carrying an "id") are answered one after the other over one runspace and
  ONE SDK connection, paid once per run. Diagnostics go to stderr only.

  The script reports facts and judges nothing: for each gateway and agent an
  `evidence` object (the parents the member has LEARNED, read by an agent task
  through the management group; when it last heartbeated), and `connected`
  always null. handover decides `connected` from the evidence and the time of
  its own write (src/provider/evidence.rs). See docs/scom-provider.md.

.EXAMPLE
  handover apply --desired topo/ --target "exec:powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File C:\handover\handover-scom.ps1 -ManagementServer ms1.contoso.local"
#>
param(
    # A management server whose SDK (Data Access) service to connect to.
    [string]$ManagementServer = 'localhost',
    # A file made by `Get-Credential | Export-Clixml`: DPAPI-encrypted, only
    # the same Windows account on the same computer can read it. Absent: the
    # account running this script (the usual case for a scheduled task).
    [string]$CredentialFile,
    # The agent task that returns a member's Parent Health Services list
    # (providers/scom/Handover.Evidence.xml).
    [string]$LearnedTask = 'Handover.Evidence.ReadParentHealthServices',
    # Seconds to wait for the learned-parents task results of one observe.
    [int]$TaskTimeout = 120,
    # Also observe and fail over the Central Management Store.
    [switch]$ManagementStore,
    # Also report each management server's and gateway's send queue: the
    # "Health Service Management Groups\Send Queue Size" counter, read
    # remotely with Get-Counter (one call per server and observe; needs
    # remote performance counter access to the servers).
    [switch]$SendQueue
)

# Nothing but our answers may reach stdout: Windows PowerShell 5.1 writes the
# warning, verbose and information streams there when it is redirected.
$ErrorActionPreference = 'Stop'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
$ProgressPreference = 'SilentlyContinue'
$script:MG = $null
$script:Credential = $null

function Write-Log([string]$Message) { [Console]::Error.WriteLine("handover-scom: $Message") }
function Get-Utc([datetime]$Time) { $Time.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ') }
# The SDK returns UTC times, some with Kind Unspecified: never shift those by
# the local offset (lab check 5 compares one with the console).
function Get-SdkUtc([datetime]$Time) { Get-Utc $(if ($Time.Kind -eq 'Local') { $Time } else { [datetime]::SpecifyKind($Time, 'Utc') }) }
function Get-Key([string]$Name) { $Name.ToLowerInvariant() }

# Errors worth a retry: the SDK service (port 5724) busy or unreachable.
function Test-Retryable($ErrorRecord) {
    $e = $ErrorRecord.Exception
    while ($e) {
        if ($e.GetType().FullName -match 'ServerDisconnectedException|ServiceNotRunningException|TimeoutException|EnterpriseManagementException.*Busy') { return $true }
        $e = $e.InnerException
    }
    return $false
}

function New-Failure([string]$Message, [bool]$Retryable) {
    @{ ok = $false; error = @{ message = $Message; retryable = $Retryable } }
}

# ---- one connection, made once ----------------------------------------------
function Connect-Once {
    if ($script:MG) { return }
    Import-Module OperationsManager | Out-Null
    $params = @{ ComputerName = $ManagementServer }
    if ($CredentialFile) { $script:Credential = Import-Clixml -Path $CredentialFile; $params['Credential'] = $script:Credential }
    New-SCOMManagementGroupConnection @params | Out-Null
    $script:MG = Get-SCOMManagementGroup
    if ($ManagementStore) { Import-Module SkypeForBusiness | Out-Null }
}

# Relationship instances of one type, in ONE query (PowerShell 5.1 cannot
# call a generic method directly, hence the reflection).
function Get-RelationshipInstances([string]$TypeName) {
    $type = $script:MG.EntityTypes.GetRelationshipClasses() | Where-Object { $_.Name -eq $TypeName } | Select-Object -First 1
    if (-not $type) { throw "relationship type $TypeName not found in this management group" }
    $emo = [Microsoft.EnterpriseManagement.Common.EnterpriseManagementObject]
    $method = $script:MG.EntityObjects.GetType().GetMethods() | Where-Object {
        $_.Name -eq 'GetRelationshipObjects' -and $_.GetParameters().Count -eq 2 -and
        $_.GetParameters()[0].ParameterType.Name -eq 'EnterpriseManagementRelationshipObjectGenericCriteria' } | Select-Object -First 1
    $generic = New-Object Microsoft.EnterpriseManagement.Common.EnterpriseManagementRelationshipObjectGenericCriteria("RelationshipId = '$($type.Id)'")
    return $method.MakeGenericMethod($emo).Invoke($script:MG.EntityObjects, @($generic, [Microsoft.EnterpriseManagement.Common.ObjectQueryOptions]::Default))
}

# ---- observe: bulk queries only ---------------------------------------------
# Cost per observe, whatever the estate: Get-SCOMManagementServer,
# Get-SCOMAgent, one Health Service instance query, two relationship queries
# (failovers of all members), and for the members in scope one task batch.
function Get-Observed($Scope) {
    Connect-Once
    $observedAt = Get-Utc (Get-Date)
    $wanted = $null
    if ($Scope.kind -eq 'members') { $wanted = @{}; foreach ($m in $Scope.members) { $wanted[(Get-Key $m)] = $true } }
    elseif ($Scope.kind -ne 'all') { throw "unknown scope kind $($Scope.kind)" }

    $health = @{}
    foreach ($hs in (Get-SCOMClassInstance -Class (Get-SCOMClass -Name 'Microsoft.SystemCenter.HealthService'))) { $health[(Get-Key $hs.DisplayName)] = $hs }
    # Failovers of every agent and gateway: source = the failover server's
    # Health Service, target = the member's (inferred; lab check 3).
    $failovers = @{}
    foreach ($r in (Get-RelationshipInstances 'Microsoft.SystemCenter.HealthServiceSecondaryCommunication')) {
        $k = Get-Key $r.TargetObject.DisplayName
        if (-not $failovers[$k]) { $failovers[$k] = New-Object System.Collections.ArrayList }
        [void]$failovers[$k].Add($r.SourceObject.DisplayName)
    }

    $all = @(Get-SCOMManagementServer)
    $servers = @($all | Where-Object { -not $_.IsGateway } | ForEach-Object {
        $hs = $health[(Get-Key $_.Name)]
        $s = @{ name = $_.Name; up = [bool]($hs -and $hs.IsAvailable) }
        $h = Get-ServerHealth $_.Name $hs
        if ($h) { $s['health'] = $h }
        $s })
    $gwObjects = @($all | Where-Object { $_.IsGateway -and (-not $wanted -or $wanted[(Get-Key $_.Name)]) })
    $agObjects = @(Get-SCOMAgent | Where-Object { -not $wanted -or $wanted[(Get-Key $_.Name)] })

    # Learned parents: gateways always (few), agents only when polled by name
    # (the members in flight): one task batch through the management group.
    $taskTargets = @($gwObjects | ForEach-Object { $health[(Get-Key $_.Name)] })
    if ($wanted) { $taskTargets += @($agObjects | ForEach-Object { $health[(Get-Key $_.Name)] }) }
    $learned = Get-LearnedParents @($taskTargets | Where-Object { $_ -and $_.IsAvailable })

    $member = {
        param($Object, $Name, $Primary, $Hs)
        $k = Get-Key $Name
        $ev = @{ observedAt = $observedAt }
        if ($learned[$k]) { $ev['learned'] = $learned[$k] }
        # IsAvailable: a heartbeat arrived within the heartbeat failure
        # window (4 x 60 s by default); `at` is that window's start, a bound.
        if ($Hs -and $Hs.IsAvailable) { $ev['heartbeat'] = @{ at = Get-Utc ((Get-Date).AddSeconds(-240)) } }
        $fo = @($failovers[$k] | Where-Object { $_ })
        # A relationship query carries no order: with two failovers or more,
        # ask the member itself (one call each, only for those members).
        if ($fo.Count -gt 1) { $fo = @($Object.GetFailoverManagementServers() | ForEach-Object { $_.Name }) }
        @{ name = $Name; primary = $Primary; failover = $fo; connected = $null; evidence = $ev }
    }
    $gateways = @($gwObjects | ForEach-Object {
        $hs = $health[(Get-Key $_.Name)]
        $primaryName = $_.GetPrimaryManagementServer().Name
        $m = & $member $_ $_.Name $primaryName $hs
        $m['up'] = [bool]($hs -and $hs.IsAvailable)
        # Configured and running workflows: HealthState leaves Uninitialized.
        $m['ready'] = [bool]($m['up'] -and $_.HealthState -ne 'Uninitialized')
        $h = Get-ServerHealth $_.Name $hs
        if ($h) { $m['health'] = $h }
        $m })
    $agents = @($agObjects | ForEach-Object { & $member $_ $_.Name $_.PrimaryManagementServerName $health[(Get-Key $_.Name)] })

    $observed = [ordered]@{ apiVersion = 'handover/v1'; kind = 'Observed'; managementServers = $servers; gateways = $gateways; agents = $agents }
    if ($ManagementStore) { $observed['managementStore'] = Get-Store }
    return $observed
}

# The health of a management server or gateway (docs/scom-provider.md,
# "Health"): the HealthState of its Health Service instance (already read
# for `up`), in the console's words, and with -SendQueue its Send Queue Size
# counter. A part that cannot be read is left out: handover does not judge
# what is not reported. Not run here (no PowerShell, no SCOM).
$script:HealthWords = @{ Success = 'healthy'; Warning = 'warning'; Error = 'critical'; Uninitialized = 'unknown' }
function Get-ServerHealth([string]$Name, $Hs) {
    $h = @{}
    if ($Hs) {
        $word = $script:HealthWords["$($Hs.HealthState)"]
        if ($word) { $h['state'] = $word }
    }
    if ($SendQueue) {
        try {
            $path = "\Health Service Management Groups($($script:MG.Name))\Send Queue Size"
            $sample = (Get-Counter -ComputerName $Name -Counter $path -MaxSamples 1 -ErrorAction Stop).CounterSamples | Select-Object -First 1
            if ($sample) { $h['sendQueueSize'] = [long][math]::Max(0, [math]::Round($sample.CookedValue)) }
        } catch {
            Write-Log "send queue of ${Name} not read: $($_.Exception.Message)"
        }
    }
    if ($h.Count -gt 0) { return $h }
    return $null
}

# Runs the learned-parents task on many Health Services at once and returns
# name -> @{ parents = [...]; at = time the task finished }. A member whose
# task fails or times out simply has no `learned` (not connected: safe).
function Get-LearnedParents($Targets) {
    $out = @{}
    if ($Targets.Count -eq 0) { return $out }
    $task = Get-SCOMTask -Name $LearnedTask
    if (-not $task) { Write-Log "task $LearnedTask not found: import providers/scom/Handover.Evidence.xml; no member can be reported connected"; return $out }
    $batch = Start-SCOMTask -Task $task -Instance $Targets
    $deadline = (Get-Date).AddSeconds($TaskTimeout)
    do {
        Start-Sleep -Seconds 2
        $results = @(Get-SCOMTaskResult -BatchID $batch.BatchId)
        $pending = @($results | Where-Object { $_.Status -in 'Scheduled', 'Started' })
    } while ($pending.Count -gt 0 -and (Get-Date) -lt $deadline)
    foreach ($r in $results) {
        if ($r.Status -ne 'Succeeded') { continue }
        # The task prints one line: the NetworkName values of Parent Health
        # Services\0, \1, ... in order, separated by commas.
        $text = ([xml]$r.Output).DataItem.StdOut
        $parents = @("$text".Trim() -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        $name = ($Targets | Where-Object { $_.Id -eq $r.TargetObjectId } | Select-Object -First 1).DisplayName
        if ($name -and $parents.Count -gt 0) { $out[(Get-Key $name)] = @{ parents = $parents; at = Get-SdkUtc $r.TimeFinished } }
    }
    return $out
}

# ---- the store -------------------------------------------------------------
function Get-Store {
    # Where the Central Management service reports itself active: every pool
    # that says so is listed active, so "active in two pools" can be seen.
    $cms = @(Get-CsService -CentralManagement)
    $activeIn = @($cms | Where-Object { $_.Active } | ForEach-Object { $_.PoolFqdn } | Sort-Object -Unique)
    $replicas = @(Get-CsManagementStoreReplicationStatus)
    $pools = @($cms | ForEach-Object { $_.PoolFqdn } | Sort-Object -Unique | ForEach-Object {
        $fqdn = $_
        $pool = Get-CsPool -Identity $fqdn
        # Up: one of its computers answers WinRM (Test-WSMan), the channel a
        # store failover uses; a ping alone says less.
        $up = [bool]($pool.Computers | Where-Object { Test-WSMan -ComputerName $_ -ErrorAction SilentlyContinue } | Select-Object -First 1)
        @{ name = $fqdn; up = $up; active = [bool]($activeIn -contains $fqdn) } })
    return @{
        activePool          = $(if ($activeIn.Count -eq 1) { $activeIn[0] } else { $null })
        pools               = $pools
        replicationComplete = [bool]($replicas.Count -gt 0 -and -not ($replicas | Where-Object { -not $_.UpToDate }))
    }
}

# Invoke-CsManagementServerFailover must run on a front end of the TARGET
# pool: run it there through PowerShell remoting.
function Invoke-StoreFailover($Op) {
    if (-not $ManagementStore) { throw 'store_failover needs -ManagementStore (and the SkypeForBusiness module)' }
    $active = @(Get-CsService -CentralManagement | Where-Object { $_.Active } | ForEach-Object { $_.PoolFqdn })
    if ($active.Count -eq 1 -and $active[0] -eq $Op.pool) { return $false }   # idempotent
    $params = @{ Confirm = $false }
    if ($Op.mode -eq 'disaster') {
        # The disaster-recovery parameter set: backup SQL and -Force, no -Restore.
        $params['BackupSqlServerFqdn'] = $Op.backup_sql_server
        $params['Force'] = $true
        if ($Op.backup_sql_instance) { $params['BackupSqlInstanceName'] = $Op.backup_sql_instance }
        if ($Op.backup_mirror_sql_server) { $params['BackupMirrorSqlServerFqdn'] = $Op.backup_mirror_sql_server }
        if ($Op.backup_mirror_sql_instance) { $params['BackupMirrorSqlInstanceName'] = $Op.backup_mirror_sql_instance }
    } elseif ($Op.restore -eq $true) { $params['Restore'] = $true }
    $frontEnd = (Get-CsPool -Identity $Op.pool).Computers | Where-Object { Test-WSMan -ComputerName $_ -ErrorAction SilentlyContinue } | Select-Object -First 1
    if (-not $frontEnd) { throw "no front end of pool $($Op.pool) answers PowerShell remoting (WinRM); the failover must run on one of them" }
    $remote = @{ ComputerName = $frontEnd; ArgumentList = $params; ScriptBlock = {
        param($p) Import-Module SkypeForBusiness | Out-Null; Invoke-CsManagementServerFailover @p | Out-Null } }
    if ($script:Credential) { $remote['Credential'] = $script:Credential }
    Invoke-Command @remote
    return $true
}

# ---- set_parents, batched ---------------------------------------------------
function Get-Server([string]$Name) {
    $s = Get-SCOMManagementServer -Name $Name       # management servers and gateways
    if (-not $s) { throw "no management server or gateway named $Name in this management group" }
    return $s
}

# ONE change per member, primary and failovers together (never two
# Set-SCOMParentManagementServer calls, which leave a window).
function Set-Parents($Op) {
    $primary = Get-Server $Op.primary
    $failover = New-Object 'System.Collections.Generic.List[Microsoft.EnterpriseManagement.Administration.ManagementServer]'
    foreach ($f in $Op.failover) { $failover.Add((Get-Server $f)) }
    $after = (@($Op.primary) + @($Op.failover)) -join ','
    if ($Op.kind -eq 'agent') {
        $member = Get-SCOMAgent -DNSHostName $Op.name
        if (-not $member) { throw "no agent named $($Op.name) in this management group" }
        $before = (@($member.PrimaryManagementServerName) + @($member.GetFailoverManagementServers() | ForEach-Object { $_.Name })) -join ','
        if ($before -eq $after) { return $false }
        $member.SetManagementServers($primary, $failover)
    } else {
        $member = Get-SCOMGatewayManagementServer -Name $Op.name
        if (-not $member) { throw "no gateway named $($Op.name) in this management group" }
        $before = (@($member.GetPrimaryManagementServer().Name) + @($member.GetFailoverManagementServers() | ForEach-Object { $_.Name })) -join ','
        if ($before -eq $after) { return $false }
        $list = New-Object 'System.Collections.Generic.List[Microsoft.EnterpriseManagement.Administration.ManagementServer]'
        $list.Add($member)
        $script:MG.Administration.SetManagementServer($list, $primary, $failover)
    }
    return $true
}

function Invoke-Operation($Op) {
    try {
        switch ($Op.op) {
            'set_parents' { return @{ ok = $true; changed = [bool](Set-Parents $Op) } }
            'store_failover' { return @{ ok = $true; changed = [bool](Invoke-StoreFailover $Op) } }
            default { return New-Failure "operation $($Op.op) is not supported by handover-scom (see capabilities)" $false }
        }
    } catch {
        Write-Log ($_ | Out-String)
        return New-Failure "$($Op.op) $($Op.name)$($Op.pool): $($_.Exception.Message)" (Test-Retryable $_)
    }
}

# ---- one request, one answer --------------------------------------------------
function Invoke-Request($Req) {
    switch ($Req.request) {
        'capabilities' {
            $ops = @('set_parents'); if ($ManagementStore) { $ops += 'store_failover' }
            return @{ ok = $true; capabilities = @{ operations = $ops; provider = 'handover-scom'; version = '2'; protocols = @(1, 2); session = $true; max_batch = 50; parallel = 1 } }
        }
        'observe' { return @{ ok = $true; observed = (Get-Observed $Req.scope) } }
        'apply' {
            Connect-Once
            if ($Req.protocol -eq 1) { return Invoke-Operation $Req.operation }
            # One result per operation, in order; one member's error does not
            # stop the others.
            return @{ ok = $true; results = @($Req.operations | ForEach-Object { Invoke-Operation $_ }) }
        }
        default { return New-Failure "unknown request $($Req.request)" $false }
    }
}

while ($null -ne ($line = [Console]::In.ReadLine())) {
    if (-not $line.Trim()) { continue }
    $req = $null
    try { $req = ConvertFrom-Json -InputObject $line } catch { $answer = New-Failure "the request is not JSON: $($_.Exception.Message)" $false }
    if ($req) {
        if ($req.protocol -ne 1 -and $req.protocol -ne 2) { $answer = New-Failure "protocol $($req.protocol) is not supported; this provider speaks 1 and 2" $false }
        else {
            try { $answer = Invoke-Request $req } catch {
                Write-Log ($_ | Out-String)
                $answer = New-Failure "$($req.request): $($_.Exception.Message)" (Test-Retryable $_)
            }
        }
    }
    $answer['protocol'] = $(if ($req -and $req.protocol -eq 2) { 2 } else { 1 })
    if ($req -and $null -ne $req.id) { $answer['id'] = $req.id }
    [Console]::Out.WriteLine((ConvertTo-Json -InputObject $answer -Depth 12 -Compress))
    [Console]::Out.Flush()
    if ($answer['protocol'] -eq 1) { exit $(if ($answer['ok']) { 0 } else { 1 }) }
}
exit 0
