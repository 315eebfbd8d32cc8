"""run_multitests.py: radio per file, runner arguments, tally, timeout clean-up."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
DRIVER = PYTHON_DIR / 'run_multitests.py'

# Stands in for MicroPython's tests/run-multitests.py: records how it was called, proves
# each pty is a live controller (HCI Reset over H4), and passes unless told otherwise.
FAKE_RUNNER = '''
import json, os, select, sys, subprocess, time
args = sys.argv[1:]
ptys = [a.split('MICROPYBTUART=', 1)[1] for a in args if 'MICROPYBTUART=' in a]
answers = []
for path in ptys:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    os.write(fd, bytes.fromhex('01030c00'))
    data = b''
    while len(data) < 7 and select.select([fd], [], [], 5)[0]:
        data += os.read(fd, 7 - len(data))
    os.close(fd)
    answers.append(data.hex())
test_file = args[-1]
record = dict(args=args, cwd=os.getcwd(), micropython=os.environ.get('MICROPY_MICROPYTHON'),
              answers=answers)
if 'hang' in test_file:
    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])
    record['child'] = child.pid
with open(os.environ['FAKE_RECORD'], 'a') as f:
    f.write(json.dumps(record) + '\\n')
if 'hang' in test_file:
    time.sleep(600)
verdict = 'FAIL' if 'fail' in test_file else 'pass'
print(test_file + ' on micropython: ' + verdict)
sys.exit(1 if verdict == 'FAIL' else 0)
'''


def write_test(directory: pathlib.Path, name: str, instances: int) -> pathlib.Path:
    body = ''.join(f'def instance{i}():\n    pass\n\n' for i in range(instances))
    path = directory / name
    path.write_text(body)
    return path


def run_driver(tmp_path, files, *extra, env_extra=None, timeout=120):
    env = dict(os.environ, FAKE_RECORD=str(tmp_path / 'record.jsonl'), **(env_extra or {}))
    return subprocess.run(
        [
            sys.executable,
            str(DRIVER),
            '--micropython',
            'bin/micropython',
            '--mpy-dir',
            str(tmp_path / 'mpy'),
            *extra,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=tmp_path,
    )


@pytest.fixture
def fake_tree(tmp_path):
    (tmp_path / 'mpy' / 'tests').mkdir(parents=True)
    (tmp_path / 'mpy' / 'tests' / 'run-multitests.py').write_text(FAKE_RUNNER)
    return tmp_path


def records(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / 'record.jsonl').read_text().splitlines()]


def test_fresh_radio_per_file_runner_args_and_tally(fake_tree):
    ok = write_test(fake_tree, 'ble_ok.py', 2)
    bad = write_test(fake_tree, 'ble_fail.py', 3)
    result = run_driver(fake_tree, [ok, bad])
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == '1 passed, 1 failed'
    assert any(line.startswith('PASS ') and 'ble_ok.py' in line for line in lines)
    assert any(line.startswith('FAIL ') and 'ble_fail.py' in line for line in lines)
    assert 'ble_fail.py on micropython: FAIL' in result.stdout  # runner output shown
    first, second = records(fake_tree)
    for record, count, test in ((first, 2, ok), (second, 3, bad)):
        assert record['args'][-1] == str(test)
        specs = [record['args'][i + 1] for i, a in enumerate(record['args']) if a == '-i']
        assert len(specs) == count
        assert all(s.startswith('micropython,MICROPYBTUART=/dev/') for s in specs)
        assert record['answers'] == ['040e0401030c00'] * count
        assert record['cwd'] == str(fake_tree / 'mpy' / 'tests')
        assert record['micropython'] == str(fake_tree / 'bin' / 'micropython')
    first_ptys = {a for a in first['args'] if 'MICROPYBTUART' in a}
    assert all(not os.path.exists(p.split('=', 1)[1]) for p in first_ptys)  # radio gone


def test_timeout_kills_runner_and_its_children(fake_tree):
    hang = write_test(fake_tree, 'ble_hang.py', 2)
    result = run_driver(fake_tree, [hang], '--timeout', '8')
    assert result.returncode == 1
    assert (
        'timeout after 8' in result.stdout
        and result.stdout.splitlines()[-1] == '0 passed, 1 failed'
    )
    (record,) = records(fake_tree)
    assert wait_gone(record['child'])


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """True once pid no longer runs (gone, or a zombie its new parent has yet to reap)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == 'Z':
            return True
        time.sleep(0.1)
    return False


# A CPython stand-in for the unix MicroPython binary, for the stock runner.
FAKE_MICROPYTHON = '''#!{python}
import sys
sys.path.insert(0, '')  # the runner's script starts with sys.path.remove('')
exec(compile(sys.argv[sys.argv.index('-c') + 1], '<test>', 'exec'))
'''

TWO_INSTANCE_TEST = '''
import os, select

def hci_reset():
    fd = os.open(os.environ['MICROPYBTUART'], os.O_RDWR | os.O_NOCTTY)
    os.write(fd, bytes.fromhex('01030c00'))
    data = b''
    while len(data) < 7 and select.select([fd], [], [], 5)[0]:
        data += os.read(fd, 7 - len(data))
    os.close(fd)
    return data.hex()

def instance0():
    multitest.next()
    print('reset', hci_reset())

def instance1():
    multitest.next()
    print('reset', hci_reset())
'''


@pytest.mark.skipif(
    not os.environ.get('MICROPY_DIR'), reason='set MICROPY_DIR to a MicroPython tree'
)
def test_with_stock_runner(tmp_path):
    fake = tmp_path / 'micropython'
    fake.write_text(FAKE_MICROPYTHON.format(python=sys.executable))
    fake.chmod(0o755)
    good = tmp_path / 'ble_fake.py'
    good.write_text(TWO_INSTANCE_TEST)
    expected = '--- instance0 ---\nreset 040e0401030c00\n--- instance1 ---\nreset 040e0401030c00\n'
    (tmp_path / 'ble_fake.py.exp').write_text(expected)
    wrong = tmp_path / 'ble_wrong.py'
    wrong.write_text(TWO_INSTANCE_TEST)
    (tmp_path / 'ble_wrong.py.exp').write_text(expected.replace('040e', '0000'))
    result = subprocess.run(
        [
            sys.executable,
            str(DRIVER),
            '--micropython',
            str(fake),
            '--mpy-dir',
            os.environ['MICROPY_DIR'],
            str(good),
            str(wrong),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.splitlines()[-1] == '1 passed, 1 failed', result.stdout + result.stderr
    assert result.returncode == 1
    assert '### DIFF ###' in result.stdout
