import { Chart, Testing } from 'cdk8s';
import {
  checkCidr, checkImage, checkIp, checkLabelValue, checkName, checkPort, checkPositiveInteger, checkReplicas, checkSubdomain,
  isDnsLabel, isDnsSubdomain, isLabelValue,
} from '../lib/validate';

const scope = () => new Chart(Testing.app(), 'scope');

describe('name predicates', () => {
  test.each(['a', 'number-crunch', 'x1', 'a'.repeat(63)])('%s is a DNS label', (v) => expect(isDnsLabel(v)).toBe(true));
  test.each(['', 'A', '1abc', 'a_b', 'a.b', '-a', 'a-', 'a'.repeat(64), 'number crunch'])(
    '%p is not a DNS label', (v) => expect(isDnsLabel(v)).toBe(false));
  test.each(['cluster.local', 'a', 'my-corp.example'])('%s is a DNS subdomain', (v) => expect(isDnsSubdomain(v)).toBe(true));
  test.each(['', 'a..b', '.a', 'A.b', `${'a'.repeat(64)}.b`])('%p is not a DNS subdomain', (v) => expect(isDnsSubdomain(v)).toBe(false));
  test.each(['', 'local', '1.28.0-alpine', 'a_b.C'])('%p is a label value', (v) => expect(isLabelValue(v)).toBe(true));
  test.each(['-a', 'a-', 'a b', 'x'.repeat(64), 'sha256:abc'])('%p is not a label value', (v) => expect(isLabelValue(v)).toBe(false));
});

describe('checks return valid values and throw naming the construct, prop, value and rule', () => {
  test('valid values pass through', () => {
    const s = scope();
    expect(checkName(s, 'name', 'ok')).toBe('ok');
    expect(checkSubdomain(s, 'clusterDomain', 'cluster.local')).toBe('cluster.local');
    expect(checkPort(s, 'port', 1)).toBe(1);
    expect(checkPort(s, 'port', 65535)).toBe(65535);
    expect(checkReplicas(s, 'replicas', 1)).toBe(1);
    expect(checkImage(s, 'image', 'nginx:1.28')).toBe('nginx:1.28');
    expect(checkIp(s, 'ip', '192.168.1.240')).toBe('192.168.1.240');
    expect(checkIp(s, 'ip', '2001:db8::1')).toBe('2001:db8::1');
    expect(checkCidr(s, 'cidr', '10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(checkCidr(s, 'cidr', '2001:db8::/32')).toBe('2001:db8::/32');
    expect(checkPositiveInteger(s, 'n', 3)).toBe(3);
    expect(checkLabelValue(s, 'instance', 'My_App.v2')).toBe('My_App.v2');
  });

  test.each([
    ['name', () => checkName(scope(), 'name', 'Bad_Name'), /Chart at 'scope': invalid name "Bad_Name": a Kubernetes name must be/],
    ['clusterDomain', () => checkSubdomain(scope(), 'clusterDomain', 'a..b'), /invalid clusterDomain "a..b": must be a DNS subdomain/],
    ['port 0', () => checkPort(scope(), 'port', 0), /invalid port 0: a port must be an integer from 1 to 65535/],
    ['port 65536', () => checkPort(scope(), 'port', 65536), /invalid port 65536/],
    ['port 80.5', () => checkPort(scope(), 'port', 80.5), /invalid port 80.5/],
    ['replicas 0', () => checkReplicas(scope(), 'replicas', 0), /invalid replicas 0: replicas must be a positive integer/],
    ['replicas 1.5', () => checkReplicas(scope(), 'replicas', 1.5), /invalid replicas 1.5/],
    ['image empty', () => checkImage(scope(), 'image', ''), /invalid image "": an image must be a non-empty reference/],
    ['image spaces', () => checkImage(scope(), 'image', 'a b'), /invalid image "a b"/],
    ['ip', () => checkIp(scope(), 'loadBalancerIP', '300.1.1.1'), /invalid loadBalancerIP "300.1.1.1": must be an IPv4 or IPv6 address/],
    ['cidr no prefix', () => checkCidr(scope(), 'range', '10.0.0.0'), /invalid range "10.0.0.0": must be a CIDR block/],
    ['cidr prefix too long', () => checkCidr(scope(), 'range', '10.0.0.0/33'), /invalid range "10.0.0.0\/33"/],
    ['cidr bad address', () => checkCidr(scope(), 'range', 'x/8'), /invalid range "x\/8"/],
    ['positive integer', () => checkPositiveInteger(scope(), 'n', -1), /invalid n -1: must be a positive integer/],
    ['label value', () => checkLabelValue(scope(), 'instance', 'my app'), /Chart at 'scope': invalid instance "my app": a label value must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit/],
    ['empty label value', () => checkLabelValue(scope(), 'partOf', ''), /invalid partOf "": a label value must be 1-63/],
  ])('%s', (_label, run, message) => {
    expect(run).toThrow(message);
  });
});
