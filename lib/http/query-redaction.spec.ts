import { redactQuery } from './query-redaction';

describe('redactQuery', () => {
  const none = new Set<string>();

  it.each([
    ['page=2&sort=name', 'page=2&sort=name'],
    ['token=abc', 'token=REDACTED'],
    ['access_token=a&refresh_token=b&id=1', 'access_token=REDACTED&refresh_token=REDACTED&id=1'],
    ['Password=x&user=ada', 'Password=REDACTED&user=ada'],
    [
      'client_secret=s&api_key=k&apiKey=k&X-API-KEY=k',
      'client_secret=REDACTED&api_key=REDACTED&apiKey=REDACTED&X-API-KEY=REDACTED',
    ],
    [
      'X-Amz-Signature=abc&X-Amz-Credential=c&X-Amz-Date=d',
      'X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&X-Amz-Date=d',
    ],
    [
      'sig=1&signature=2&AWSAccessKeyId=3&key=4&code=5',
      'sig=REDACTED&signature=REDACTED&AWSAccessKeyId=REDACTED&key=REDACTED&code=REDACTED',
    ],
    ['api%5Fkey=k&a+token=t', 'api%5Fkey=REDACTED&a+token=REDACTED'],
    ['token&flag', 'token&flag'],
    ['%E0%A4%A=1&token=2', '%E0%A4%A=1&token=REDACTED'],
    ['', ''],
  ])('redacts %j to %j', (query, expected) => {
    expect(redactQuery(query, none)).toBe(expected);
  });

  it('redacts the extra keys, case-insensitively', () => {
    expect(redactQuery('Session=1&ssn=2&page=3', new Set(['session', 'ssn']))).toBe(
      'Session=REDACTED&ssn=REDACTED&page=3',
    );
  });
});
