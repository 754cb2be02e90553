#!/usr/bin/perl
# One version everywhere: engage.control's default_version is the version
# the Makefile builds, and PGXN's META.json, the Debian changelog and the top
# of CHANGELOG.md must say the same.
use strict;
use warnings;
use JSON::PP;
use FindBin;
chdir "$FindBin::Bin/../..";

sub slurp { my ($f) = @_; open(my $h, '<', $f) or return ''; local $/; return <$h>; }

my ($control) = slurp('engage.control') =~ /^default_version\s*=\s*'([^']+)'/m;
my $meta = decode_json(slurp('META.json'));
my ($debian) = slurp('debian/changelog') =~ /^engage \(([^)]+)\)/;
my ($changelog) = slurp('CHANGELOG.md') =~ /^## (\S+)/m;
# PGXN asks for three-part semantic versions: 1.1 is 1.1.0 there
(my $semver = $control // '') =~ s/^(\d+\.\d+)$/$1.0/;

my @checks = (
    [$meta->{version}, $semver, 'META.json version'],
    [$meta->{provides}{engage}{version}, $semver, 'META.json provides engage version'],
    [$meta->{provides}{engage}{file}, "sql/engage--$control.sql", 'META.json names the install script of this version'],
    [$meta->{prereqs}{runtime}{requires}{PostgreSQL}, '15.0.0', 'META.json asks for PostgreSQL 15, as src/compat.h does'],
    [$debian, $control, 'debian/changelog version'],
    [$changelog, $control, 'the newest CHANGELOG.md entry'],
);
print "1..", scalar(@checks) + 1, "\n";
my $n = 0;
print defined $control ? "ok " : "not ok ", ++$n, " - engage.control has a default_version ($control)\n";
for my $c (@checks) {
    my ($got, $want, $what) = @$c;
    $got //= '(none)';
    if ($got eq $want) { print "ok ", ++$n, " - $what: $want\n"; }
    else { print "not ok ", ++$n, " - $what: $want\n# got $got\n"; }
}
