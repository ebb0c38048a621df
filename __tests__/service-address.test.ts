import { serviceAddress } from '../lib/service-address';

test('the FQDN is <service>.<namespace>.svc.<cluster domain>', () => {
  expect(serviceAddress('number-crunch-service', 'default', 8080)).toEqual({
    serviceName: 'number-crunch-service', namespace: 'default', clusterDomain: 'cluster.local', port: 8080,
    fqdn: 'number-crunch-service.default.svc.cluster.local',
  });
  expect(serviceAddress('api', 'prod', 80, 'corp.internal').fqdn).toBe('api.prod.svc.corp.internal');
});
