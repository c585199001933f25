#!/usr/bin/env python3
"""Drives `hv console` in pseudo-terminals with pexpect, as whichever user runs it, and prints
what it saw as JSON. Run it with a Python that has pexpect (scripts/install-deps.sh makes one).

usage: console-session.py HV MACHINE SCENARIO [ARG]
  attach             attach, type a command into the guest's shell, read its output, interrupt a
                     command with Ctrl-C, detach with Ctrl-]; the terminal's settings (stty -a)
                     before, while attached and after
  takeover           attach; a second attach without a terminal is refused; a second terminal
                     takes the console over with --force, the first one is told and restored
  signal NAME        attach, then send the hv process SIGTERM, SIGHUP or SIGINT from outside
  wait-close FLAG    attach, create the file FLAG, then wait until hv reports that the console
                     closed (the test stops the broker or the machine meanwhile)
  type COMMAND       attach, run COMMAND in the guest's shell, wait until it has finished, detach
The broker socket comes from $HV_SOCKET; the upload socket is the one beside it.
"""
import json
import os
import signal
import subprocess
import sys
import termios
import time

import pexpect

PROMPT = "test$ "
GUEST_PROMPT = "/ # "


def shell():
    """An interactive sh on a new pseudo-terminal, prompting with PROMPT."""
    environment = dict(os.environ, PS1=PROMPT, TERM="dumb")
    child = pexpect.spawn("/bin/sh", ["-i"], env=environment, encoding="utf-8", timeout=90, dimensions=(24, 80))
    child.expect_exact(PROMPT)
    return child


def stty(child):
    """The terminal's settings as `stty -a` prints them in that shell."""
    child.sendline("stty -a")
    child.expect_exact(PROMPT)
    return " ".join(line.strip() for line in child.before.splitlines()[1:] if line.strip())


def is_raw(child):
    """Whether the pseudo-terminal is in raw mode now: no line editing, echo or key signals."""
    lflag = termios.tcgetattr(child.child_fd)[3]
    return lflag & (termios.ICANON | termios.ECHO | termios.ISIG) == 0


def attach(child, hv, machine, *options):
    """Starts hv console in the shell and waits for the guest's prompt; returns hv's greeting."""
    child.sendline(" ".join([hv, "console", machine] + list(options)))
    child.expect(r"Escape character is \^\] \(Ctrl \+ \]\)\.")
    greeting = child.before + child.after
    child.expect(r"in the guest: stty rows \d+ cols \d+")
    greeting += child.before + child.after
    child.send("\r")
    child.expect_exact(GUEST_PROMPT)
    return greeting


def run_in_guest(child):
    """Types a command whose output differs from its echo; whether the output came back."""
    child.send("echo HV-ECHO-$((6*7))\r")
    child.expect_exact("HV-ECHO-42")
    child.expect_exact(GUEST_PROMPT)
    return True


def hv_pid(child):
    """The hv process the shell started."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/comm") as comm:
                name = comm.read().strip()
        except OSError:
            continue
        if int(fields[1]) == child.pid and name == "hv":
            return int(entry)
    raise RuntimeError("no hv process under the shell")


def interrupt_in_guest(child):
    """Starts a long command in the guest and types Ctrl-C: whether the guest's shell got it.

    The key is typed once the command runs (its first output came, and a moment passed): typed
    while the shell still edits its line, it would be a key of the next line, not a signal.
    """
    child.send("echo HV-SLEEP-$((1+1)); sleep 60\r")
    child.expect_exact("HV-SLEEP-2")
    time.sleep(1)
    child.sendcontrol("c")
    child.expect_exact(GUEST_PROMPT, timeout=20)
    return True


def scenario_attach(hv, machine):
    child = shell()
    before = stty(child)
    greeting = attach(child, hv, machine)
    raw = is_raw(child)
    echoed = run_in_guest(child)
    interrupted = interrupt_in_guest(child)
    child.sendcontrol("]")
    child.expect("detached from " + machine)
    child.expect_exact(PROMPT)
    return {
        "before": before, "after": stty(child), "rawWhileAttached": raw, "echoed": echoed, "greeting": greeting,
        "ctrlCReachedTheGuest": interrupted,
    }


def scenario_takeover(hv, machine):
    first = shell()
    before = stty(first)
    attach(first, hv, machine)
    refused = subprocess.run([hv, "console", machine], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    second = shell()
    greeting = attach(second, hv, machine, "--force")
    first.expect(r"hv: (.*)\r\n")
    told = first.match.group(1)
    first.expect_exact(PROMPT)
    after = stty(first)
    echoed = run_in_guest(second)
    second.sendcontrol("]")
    second.expect("detached from " + machine)
    return {
        "refusedStatus": refused.returncode, "refusedError": refused.stderr, "forcedGreeting": greeting,
        "firstWasTold": told, "before": before, "after": after, "echoedAfterTakeover": echoed,
    }


def scenario_signal(hv, machine, name):
    child = shell()
    before = stty(child)
    attach(child, hv, machine)
    raw = is_raw(child)
    os.kill(hv_pid(child), getattr(signal, name))
    child.expect_exact(PROMPT)
    return {"before": before, "after": stty(child), "rawWhileAttached": raw}


def scenario_wait_close(hv, machine, flag):
    child = shell()
    before = stty(child)
    attach(child, hv, machine)
    raw = is_raw(child)
    open(flag, "w").close()
    child.expect(r"hv: (.*)\r\n", timeout=180)
    told = child.match.group(1)
    child.expect_exact(PROMPT)
    return {"before": before, "after": stty(child), "rawWhileAttached": raw, "told": told}


def scenario_type(hv, machine, command):
    child = shell()
    attach(child, hv, machine)
    # The marker's echo differs from what is typed, so only the finished command prints it.
    child.send(command + "; echo HV-TYPED-$((40+2))\r")
    child.expect_exact("HV-TYPED-42", timeout=600)
    child.expect_exact(GUEST_PROMPT)
    child.sendcontrol("]")
    child.expect("detached from " + machine)
    return {"typed": True}


def main():
    hv, machine, scenario = sys.argv[1:4]
    if scenario == "attach":
        result = scenario_attach(hv, machine)
    elif scenario == "takeover":
        result = scenario_takeover(hv, machine)
    elif scenario == "signal":
        result = scenario_signal(hv, machine, sys.argv[4])
    elif scenario == "wait-close":
        result = scenario_wait_close(hv, machine, sys.argv[4])
    elif scenario == "type":
        result = scenario_type(hv, machine, sys.argv[4])
    else:
        raise SystemExit("unknown scenario " + scenario)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
