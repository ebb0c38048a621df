// The Pod Security Standard "restricted", as one check: the hardened Deployment refuses at synth what breaks it, and
// the project's validation rule (validation/rules.ts) reports it on any manifest.
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';

const RESTRICTED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
const SECCOMP_OK = ['RuntimeDefault', 'Localhost'];
/** SELinux types the baseline level allows (user and role may not be set at all). */
const SELINUX_TYPES_OK = ['', 'container_t', 'container_init_t', 'container_kvm_t'];
/** Sysctls the baseline level allows in Kubernetes 1.27 (the "safe" set). */
const SAFE_SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports'];
/** Pod annotation prefix of a container's AppArmor profile (Kubernetes 1.27 has no securityContext field for it). */
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

/** What a pod's or container's securityContext breaks of the settings both levels share. */
function sharedContextProblems(where: string, sc: ISecurityContext | IPodSecurityContext): string[] {
  const problems: string[] = [];
  if (sc.windowsOptions?.hostProcess) problems.push(`${where} sets windowsOptions.hostProcess: remove it`);
  const se = sc.seLinuxOptions;
  if (se && (!SELINUX_TYPES_OK.includes(se.type ?? '') || se.user !== undefined || se.role !== undefined)) {
    problems.push(`${where} sets seLinuxOptions ${JSON.stringify(se)}: only type ${SELINUX_TYPES_OK.filter(Boolean).join(', ')} is allowed, with no user or role`);
  }
  return problems;
}

/**
 * Every way a pod spec (with its pods' annotations) misses the Pod Security Standard "restricted", and this project's
 * rule of no service account token; each problem names the container or field and the fix.
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
export function restrictedPodProblems(pod: Partial<IPodSpec>, podAnnotations: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  const podSc = pod.securityContext ?? {};
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (pod[field]) problems.push(`sets ${field}: true (shares the node's namespace): remove it or set it to false`);
  }
  if (pod.automountServiceAccountToken !== false) problems.push('mounts the service account token: set automountServiceAccountToken: false');
  problems.push(...sharedContextProblems("the pod's securityContext", podSc));
  if (podSc.runAsUser === 0) {
    problems.push("the pod's securityContext sets runAsUser: 0 (root), forbidden even where containers set their own: set a non-zero numeric runAsUser");
  }
  for (const sysctl of podSc.sysctls ?? []) {
    if (!SAFE_SYSCTLS.includes(sysctl.name)) problems.push(`sets sysctl ${sysctl.name}, which is not in the safe set: remove it (allowed: ${SAFE_SYSCTLS.join(', ')})`);
  }
  for (const [key, value] of Object.entries(podAnnotations)) {
    if (key.startsWith(APPARMOR_ANNOTATION) && value !== 'runtime/default' && !value.startsWith('localhost/')) {
      problems.push(`annotation ${key}: ${value} loosens AppArmor: use runtime/default or a localhost/ profile`);
    }
  }
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.includes(type)) {
      problems.push(`volume "${v.name}" is of type ${type}, not allowed under "restricted": use one of ${RESTRICTED_VOLUME_TYPES.join(', ')}`);
    }
  }
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])]) {
    const sc = c.securityContext ?? {};
    const where = `container "${c.name}"`;
    problems.push(...sharedContextProblems(where, sc));
    if (sc.procMount !== undefined && sc.procMount !== 'Default') problems.push(`${where} sets procMount: ${sc.procMount}: remove it (only Default is allowed)`);
    if (sc.privileged) problems.push(`${where} is privileged: remove securityContext.privileged`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where} does not set allowPrivilegeEscalation: false: set it in the container's securityContext`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${where} does not set runAsNonRoot: true: set it in the pod's or container's securityContext`);
    const user = sc.runAsUser ?? podSc.runAsUser;
    if (user === undefined || user === 0) problems.push(`${where} runs as user ${user ?? '(image default)'}: set a non-zero numeric runAsUser`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (!SECCOMP_OK.includes(seccomp ?? '')) problems.push(`${where} has seccomp profile ${seccomp ?? '(none)'}: set seccompProfile.type RuntimeDefault (pod or container securityContext)`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) problems.push(`${where} does not drop capability ALL: set securityContext.capabilities.drop: [ALL]`);
    const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (added.length > 0) problems.push(`${where} adds capabilities ${added.join(', ')}: add none but NET_BIND_SERVICE`);
    if ((c.ports ?? []).some((p) => p.hostPort)) problems.push(`${where} uses a hostPort: remove it and reach the pod through a Service`);
  }
  return problems;
}
