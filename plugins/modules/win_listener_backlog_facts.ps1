#!powershell

# Copyright (c) netstack.backlog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

#AnsibleRequires -CSharpUtil Ansible.Basic

# The Windows side of netstack.backlog.listener_backlog_facts (its action plugin
# runs this module on Windows hosts); it returns the Python module's schema.
# No registry value sets the limit since Vista (the AFD *DynamicBacklog values
# are gone), so the fact is the provider's default: winsock2.h SOMAXCONN
# (0x7fffffff) asks for "a maximum reasonable value", which a plain listen()
# gets as 200 on Windows 8 and later (JDK-8330940; Netty NetUtil).
# Both numbers must equal WINDOWS_SOMAXCONN and WINDOWS_PLAIN_LISTEN_BACKLOG in
# plugins/module_utils/_backlog.py; a unit test checks that they do.

$spec = @{
    options = @{
        listeners = @{ type = 'bool'; default = $false }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$somaxconn = 2147483647
$plainListenBacklog = 200

$facts = @{
    ansible_listener_backlog = $plainListenBacklog
    ansible_listener_backlog_info = @{
        source = 'default'
        key = 'SOMAXCONN'
        raw = $somaxconn
        capped = $true
        minimum = $null
        system = 'Windows'
        syn_backlog = $null
        syncookies = $null
        listen_overflows = $null
        listen_drops = $null
    }
}

if ($module.Params.listeners) {
    try {
        # No listener is not an error: SilentlyContinue drops the "no matching
        # objects" record. A missing cmdlet still throws (ErrorActionPreference Stop).
        $sockets = @(Get-NetTCPConnection -State Listen -ErrorAction SilentlyContinue)
        $names = @{}
        foreach ($process in Get-Process) {
            $names[[int]$process.Id] = $process.ProcessName
        }
    }
    catch {
        $module.FailJson("listeners unavailable: $($_.Exception.Message)", $_)
    }

    # Windows has no standard way to read the backlog a socket was granted, nor
    # its queue now (Microsoft's listen() reference): both are reported as null.
    $listeners = @(
        foreach ($socket in $sockets) {
            $address = [string]$socket.LocalAddress
            $family = 'ipv4'
            if ($address.Contains(':')) {
                $family = 'ipv6'
            }
            $owner = [int]$socket.OwningProcess
            @{
                family = $family
                address = $address
                port = [int]$socket.LocalPort
                backlog = $null
                queued = $null
                pid = $owner
                process = $names[$owner]
            }
        }
    )
    # The Python module's order: port, family, address.
    $facts.ansible_listener_backlog_listeners = @(
        $listeners | Sort-Object -Property { $_.port }, { $_.family }, { $_.address }
    )
}

$module.Result.ansible_facts = $facts
$module.ExitJson()
