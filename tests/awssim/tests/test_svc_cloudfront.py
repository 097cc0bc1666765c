#!/usr/bin/env python3
"""CloudFront in awssim, driven by real boto3: each response must parse and fit its output shape
(harness.checked), and the behaviour must be what the AWS API reference documents: pagination,
exact filters, AWS error codes and statuses, state transitions over time."""

from harness import ACCOUNT, distribution_config, main, SimTestCase


class CloudFront(SimTestCase):
    def setUp(self):
        super().setUp()
        self.cf = self.client('cloudfront')

    def test_create_get_update_etags_and_deploy(self):
        cfg = distribution_config(Logging={'Enabled': True, 'IncludeCookies': False,
                                           'Bucket': 'logs.s3.amazonaws.com', 'Prefix': 'cf/'},
                                  CustomErrorResponses={'Quantity': 1, 'Items': [
                                      {'ErrorCode': 404, 'ResponsePagePath': '/404.html',
                                       'ResponseCode': '404', 'ErrorCachingMinTTL': 10}]})
        r = self.cf.create_distribution(DistributionConfig=cfg)
        self.assertEqual(r['ResponseMetadata']['HTTPStatusCode'], 201)
        did, etag = r['Distribution']['Id'], r['ETag']
        self.assertRegex(did, r'^E[A-Z0-9]{13}$')
        self.assertTrue(r['Location'].endswith('/2020-05-31/distribution/' + did))
        self.assertEqual(r['Distribution']['Status'], 'InProgress')
        self.wait_for(lambda: self.cf.get_distribution(Id=did)['Distribution']['Status'] == 'Deployed')
        got = self.cf.get_distribution_config(Id=did)
        self.assertEqual(got['ETag'], etag)
        new_cfg = got['DistributionConfig']
        new_cfg['PriceClass'] = 'PriceClass_100'
        new_cfg['Origins']['Items'][0]['OriginShield'] = {'Enabled': True, 'OriginShieldRegion': 'eu-west-1'}
        self.assertAwsError('InvalidIfMatchVersion', self.cf.update_distribution, Id=did,
                            DistributionConfig=new_cfg)
        u = self.cf.update_distribution(Id=did, IfMatch=etag, DistributionConfig=new_cfg)
        self.assertNotEqual(u['ETag'], etag)
        self.assertEqual(u['Distribution']['Status'], 'InProgress')
        self.assertAwsError('PreconditionFailed', self.cf.update_distribution, Id=did, IfMatch=etag,
                            DistributionConfig=new_cfg, status=412)
        after = self.cf.get_distribution_config(Id=did)['DistributionConfig']
        self.assertEqual(after['PriceClass'], 'PriceClass_100')
        # What the update did not touch is still there.
        self.assertEqual(after['Logging']['Prefix'], 'cf/')
        self.assertEqual(after['CustomErrorResponses']['Items'][0]['ResponsePagePath'], '/404.html')
        self.assertEqual(after['Origins']['Items'][0]['OriginShield']['OriginShieldRegion'], 'eu-west-1')
        self.wait_for(lambda: self.cf.get_distribution(Id=did)['Distribution']['Status'] == 'Deployed')
        bad = dict(new_cfg, CallerReference='other')
        self.assertAwsError('IllegalUpdate', self.cf.update_distribution, Id=did,
                            IfMatch=u['ETag'], DistributionConfig=bad)

    def test_errors_and_listing(self):
        self.assertAwsError('NoSuchDistribution', self.cf.get_distribution, Id='E000000000000', status=404)
        cfg = distribution_config()
        cfg['Aliases'] = {'Quantity': 2, 'Items': ['a.example.com']}
        self.assertAwsError('InconsistentQuantities', self.cf.create_distribution, DistributionConfig=cfg)
        cfg = distribution_config()
        cfg['DefaultCacheBehavior']['TargetOriginId'] = 'missing'
        self.assertAwsError('NoSuchOrigin', self.cf.create_distribution, DistributionConfig=cfg)
        for i in range(3):
            self.cf.create_distribution(DistributionConfig=distribution_config('ref-%d' % i))
        self.assertAwsError('DistributionAlreadyExists', self.cf.create_distribution,
                            DistributionConfig=distribution_config('ref-0'), status=409)
        page = self.cf.list_distributions(MaxItems='2')['DistributionList']
        self.assertEqual((page['Quantity'], page['IsTruncated']), (2, True))
        rest = self.cf.list_distributions(Marker=page['NextMarker'])['DistributionList']
        self.assertEqual((rest['Quantity'], rest['IsTruncated']), (1, False))

    def test_tags(self):
        r = self.cf.create_distribution(DistributionConfig=distribution_config())
        arn = r['Distribution']['ARN']
        self.cf.tag_resource(Resource=arn, Tags={'Items': [{'Key': 'trimtab.dev/owner', 'Value': 'ns/shop'}]})
        self.assertEqual(self.cf.list_tags_for_resource(Resource=arn)['Tags']['Items'],
                         [{'Key': 'trimtab.dev/owner', 'Value': 'ns/shop'}])
        self.cf.untag_resource(Resource=arn, TagKeys={'Items': ['trimtab.dev/owner']})
        self.assertEqual(self.cf.list_tags_for_resource(Resource=arn)['Tags'].get('Items', []), [])
        self.assertAwsError('NoSuchResource', self.cf.list_tags_for_resource,
                            Resource='arn:aws:cloudfront::%s:distribution/E000000000000' % ACCOUNT)


if __name__ == '__main__':
    main()
