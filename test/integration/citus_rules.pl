#!/usr/bin/perl
#
# citus_rules.pl: checks the SQL of src/*.c and the installed catalog against
# the rules agent_sessions follows so that distribute() is enough to run it on
# Citus (research/citus.md).  Run by citus_rules.sh, which passes:
#
#   citus_rules.pl SRC_DIR KNOWN_FILE DATABASE
#
# with PGHOST/PGPORT/PGUSER set and the extension created in DATABASE.
#
# The rules it checks, each tagged as reported:
#   clock          no now()/clock_timestamp()/... in any SQL string: timestamps
#                  are bound, one reading of the clock per call (rule 3)
#   router         a statement on sessions or session_events filters by
#                  id = $n or session_id = $n, so Citus sends it to one shard
#                  (rule 1); statements multi-shard by design are listed in
#                  the known file
#   volatile       no VOLATILE function in an UPDATE or DELETE, nor in the WHERE
#                  of any write (Citus: "functions used in UPDATE queries on
#                  distributed tables must not be VOLATILE")
#   case-coalesce  no non-IMMUTABLE function (text-to-enum casts included)
#                  inside CASE or COALESCE in the SET or WHERE of a write
#                  (measured: research row 7a)
#   stable-column  no STABLE function taking a column in the SET or WHERE of
#                  a write
#   returning      no non-IMMUTABLE function (enum-to-text casts included) in
#                  RETURNING
#   trigger-notify no NOTIFY from a trigger function (rule 4)
#   policy         policies use no IS [NOT] NULL or IS TRUE on anything but a
#                  column, no subquery, and call no SQL or PL function (rule 7)
#
# volatile, case-coalesce, stable-column and returning reproduce the checks
# of Citus 13.2.2 (TargetlistAndFunctionsSupported and
# SingleShardUpdateDeleteSupported in multi_router_planner.c) on the query
# tree PostgreSQL itself makes of each write: the statement is parsed as the
# body of a temporary BEGIN ATOMIC function with the parameter types the C
# code declares.
#
# The known file lists "RULE FILE:FUNCTION reason" lines: statements that are
# multi-shard by design, and findings reported but not fixed yet.  A listed
# entry that no longer matches anything is an error too, so the list stays
# true.

use strict;
use warnings;

my ($src_dir, $known_file, $db) = @ARGV;
die "usage: citus_rules.pl SRC_DIR KNOWN_FILE DATABASE\n" unless defined $db;

my @violations;		# [rule, "file:function", "file:line", message]
my @skipped;

sub violation
{
	my ($rule, $where_fn, $where_line, $msg) = @_;
	push @violations, [$rule, $where_fn, $where_line, $msg];
}

# ---------------------------------------------------------------------------
# psql

sub psql_rows
{
	my ($sql) = @_;
	open(my $fh, '-|', 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
		 '-F', "\t", '-d', $db, '-c', $sql)
	  or die "psql: $!";
	my @rows = map { chomp; [split /\t/, $_, -1] } <$fh>;
	close($fh) or die "psql failed on: $sql\n";
	return @rows;
}

# Run a script in one session; returns (ok, stdout, stderr).
sub psql_script
{
	my ($script) = @_;
	my $in = "/tmp/citus_rules.$$.sql";
	my $err = "/tmp/citus_rules.$$.err";
	open(my $fh, '>', $in) or die "$in: $!";
	print $fh $script;
	close($fh);
	my $out = `psql -X -q -A -t -v ON_ERROR_STOP=1 -d '$db' -f '$in' 2>'$err'`;
	my $ok = ($? == 0);
	local $/;
	open(my $eh, '<', $err) or die "$err: $!";
	my $errtext = <$eh>;
	close($eh);
	unlink($in, $err);
	return ($ok, $out, $errtext);
}

my %proc;			# oid -> {name, volatile, lang}
for my $r (psql_rows(
	"SELECT p.oid, p.proname, p.provolatile, l.lanname, n.nspname
	   FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	   JOIN pg_namespace n ON n.oid = p.pronamespace"))
{
	$proc{$r->[0]} = {name => "$r->[4].$r->[1]", volatile => $r->[2], lang => $r->[3]};
}
my %volatile_by_name;	# "schema.name" and bare pg_catalog names -> 1
for my $p (values %proc)
{
	next unless $p->{volatile} eq 'v';
	$volatile_by_name{$p->{name}} = 1;
	$volatile_by_name{$1} = 1 if $p->{name} =~ /^pg_catalog\.(.*)$/;
}
my %type;			# oid -> {input, output, name}
for my $r (psql_rows(
	"SELECT oid, typinput::oid, typoutput::oid, format_type(oid, NULL) FROM pg_type"))
{
	$type{$r->[0]} = {input => $r->[1], output => $r->[2], name => $r->[3]};
}
my %opcode;			# operator oid -> function oid
$opcode{$_->[0]} = $_->[1] for psql_rows("SELECT oid, oprcode::oid FROM pg_operator");
my ($sessions_oid, $events_oid) = @{(psql_rows(
	"SELECT 'agent_sessions.sessions'::regclass::oid, 'agent_sessions.session_events'::regclass::oid"))[0]};
my %dist_table = ($sessions_oid => 'sessions', $events_oid => 'session_events');

# ---------------------------------------------------------------------------
# SQL strings of the C sources

# OID macros of the server headers, e.g. UUIDOID
my %oid_macro;
{
	my $inc = `pg_config --includedir-server`;
	chomp $inc;
	open(my $fh, '<', "$inc/catalog/pg_type_d.h") or die "pg_type_d.h: $!";
	while (<$fh>)
	{
		$oid_macro{$1} = $2 if /^#define\s+(\w+OID)\s+(\d+)/;
	}
	close($fh);
}

sub c_unescape
{
	my ($s) = @_;
	$s =~ s/\\(n|t|"|\\|')/$1 eq 'n' ? "\n" : $1 eq 't' ? "\t" : $1/ge;
	return $s;
}

# Comments become spaces (newlines kept, so line numbers hold).
sub strip_comments
{
	my ($text) = @_;
	$text =~ s{("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')|(/\*.*?\*/|//[^\n]*)}
			  {defined $1 ? $1 : ($2 =~ s/[^\n]/ /gr)}gse;
	return $text;
}

my %string_macro;

# Macros whose body is string literals and other such macros.
sub collect_macros
{
	my ($text) = @_;
	while ($text =~ /^#define[ \t]+(\w+)[ \t]+((?:[^\n]*\\\n)*[^\n]*)/mg)
	{
		my ($name, $body) = ($1, $2);
		$body =~ s/\\\n/ /g;
		my $value = '';
		my $ok = 0;
		while ($body =~ /\G\s*(?:"((?:\\.|[^"\\])*)"|(\w+))/gc)
		{
			if (defined $1) { $value .= c_unescape($1); $ok = 1; }
			elsif (exists $string_macro{$2}) { $value .= $string_macro{$2}; $ok = 1; }
			else { $ok = 0; last; }
		}
		$ok = 0 unless ($body =~ /\G\s*$/gc);
		$string_macro{$name} = $value if $ok;
	}
}

# Every maximal run of adjacent string literals (and string macros) of a
# file: {file, line, function, sql, argtypes}
sub c_strings
{
	my ($file, $text) = @_;
	my @tokens;			# [kind, value, line]
	my $line = 1;

	# Macros are looked at where they are used; blank the directives.
	$text =~ s/^[ \t]*#(?:[^\n]*\\\n)*[^\n]*/$& =~ s{[^\n]}{ }gr/gme;
	while ($text =~ /\G(?:(\s+)|"((?:\\.|[^"\\])*)"|'(?:\\.|[^'\\])*'|([A-Za-z_]\w*)|(\d\w*)|(.))/gcs)
	{
		if (defined $1) { $line += ($1 =~ tr/\n//); next; }
		if (defined $2) { push @tokens, ['str', c_unescape($2), $line]; next; }
		if (defined $3) { push @tokens, ['id', $3, $line]; next; }
		if (defined $4) { push @tokens, ['num', $4, $line]; next; }
		push @tokens, ['p', $5, $line] if defined $5;
	}

	my @lines = split /\n/, $text;
	my @found;
	for (my $i = 0; $i < @tokens; $i++)
	{
		my $t = $tokens[$i];
		next unless $t->[0] eq 'str' || ($t->[0] eq 'id' && exists $string_macro{$t->[1]});
		my $sql = '';
		my $start = $i;
		while ($i < @tokens &&
			   ($tokens[$i][0] eq 'str' ||
				($tokens[$i][0] eq 'id' && exists $string_macro{$tokens[$i][1]})))
		{
			$sql .= $tokens[$i][0] eq 'str' ? $tokens[$i][1] : $string_macro{$tokens[$i][1]};
			$i++;
		}

		my $lineno = $tokens[$start][2];
		my $function = '?';
		for (my $l = $lineno - 1; $l >= 0; $l--)
		{
			if ($lines[$l] =~ /^([A-Za-z_]\w*)\s*\((?!.*;\s*$)/) { $function = $1; last; }
		}

		# ..."sql", NARGS, ARGTYPES) with "Oid ARGTYPES[...] = {...}" before
		my $argtypes;
		if ($i + 3 < @tokens && $tokens[$i][1] eq ',' && $tokens[$i + 2][1] eq ','
			&& $tokens[$i + 3][0] eq 'id')
		{
			my $var = $tokens[$i + 3][1];
			for (my $j = $start - 1; $j >= 3; $j--)
			{
				next unless $tokens[$j][0] eq 'id' && $tokens[$j][1] eq $var
				  && $tokens[$j - 1][1] eq 'Oid' && $tokens[$j + 1][1] eq '[';
				my $k = $j + 1;
				$k++ while $k < @tokens && $tokens[$k][1] ne '=' && $tokens[$k][1] ne ';';
				last unless $tokens[$k][1] eq '=' && $tokens[$k + 1][1] eq '{';
				my @types;
				my $ok = 1;
				$k += 2;
				while ($k < @tokens && $tokens[$k][1] ne '}')
				{
					if ($tokens[$k][0] eq 'id' && exists $oid_macro{$tokens[$k][1]})
					{
						push @types, $type{$oid_macro{$tokens[$k][1]}}{name};
						$k++;
					}
					elsif ($tokens[$k][1] eq 'as_type_oid' && $tokens[$k + 2][0] eq 'str')
					{
						push @types, $tokens[$k + 2][1];
						$k += 4;
					}
					elsif ($tokens[$k][1] eq ',') { $k++; }
					else { $ok = 0; last; }
				}
				$argtypes = \@types if $ok;
				last;
			}
		}
		$file =~ s{.*/}{};
		push @found, {file => $file, line => $lineno, function => $function,
					  sql => $sql, argtypes => $argtypes};
	}
	return @found;
}

my @c_files = sort glob("$src_dir/*.c");
my %c_text;
{
	local $/;
	for my $f (sort(glob("$src_dir/*.h")), @c_files)
	{
		open(my $fh, '<', $f) or die "$f: $!";
		$c_text{$f} = strip_comments(<$fh>);
		close($fh);
		collect_macros($c_text{$f});
	}
}
my @strings = map { c_strings($_, $c_text{$_}) } @c_files;
die "no SQL found in $src_dir/*.c\n" unless grep { $_->{sql} =~ /agent_sessions\./ } @strings;

# ---------------------------------------------------------------------------
# Text rules

my $clock_re = qr/\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday)\s*\(|\b(current_timestamp|localtimestamp|current_time|localtime|current_date)\b/i;
my $table_re = qr/\b(?:FROM|JOIN|UPDATE|INTO|USING)\s+agent_sessions\.(sessions|session_events|session_scopes)\b/i;
my $verb_re = qr/^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;

# Paren depth at each position of the text, strings skipped.
sub depths
{
	my ($sql) = @_;
	my @d;
	my $depth = 0;
	my $in_str = 0;
	for my $c (split //, $sql)
	{
		if ($in_str) { $in_str = 0 if $c eq "'"; push @d, $depth; next; }
		if ($c eq "'") { $in_str = 1; }
		elsif ($c eq '(') { $depth++; }
		push @d, $depth;
		$depth-- if $c eq ')';
	}
	return @d;
}

# True when some WHERE clause has "id = $n" or "session_id = $n" at its own
# depth, with no OR at that depth.
sub routed_by_id
{
	my ($sql) = @_;
	my @d = depths($sql);
	while ($sql =~ /\bWHERE\b/gi)
	{
		my $start = pos($sql);
		my $depth = $d[$start - 1];
		my $end = $start;
		$end++ while $end < length($sql) && $d[$end] >= $depth;
		my $clause = substr($sql, $start, $end - $start);
		my @cd = @d[$start .. $end - 1];
		my ($has_eq, $has_or) = (0, 0);
		while ($clause =~ /(?<![\w.])(?:\w+\.)?(?:session_)?id\s*(?:=|OPERATOR\(pg_catalog\.=\))\s*\$\d+\b|\$\d+\s*(?:=|OPERATOR\(pg_catalog\.=\))\s*(?:\w+\.)?(?:session_)?id\b/g)
		{
			$has_eq = 1 if $cd[$-[0]] == $depth;
		}
		while ($clause =~ /\b(OR|ORDER|LIMIT|RETURNING|FOR|GROUP)\b/gi)
		{
			next unless $cd[$-[0]] == $depth;
			last if uc($1) ne 'OR';
			$has_or = 1;
		}
		return 1 if $has_eq && !$has_or;
	}
	return 0;
}

my %sql_keyword = map { $_ => 1 } qw(
	any all and as case cast coalesce exists filter from greatest in insert
	into is least not nullif on or over returning row select set then update
	using values when where with within array lateral interval distinct
	delete);

for my $s (@strings)
{
	my $fn = "$s->{file}:$s->{function}";
	my $at = "$s->{file}:$s->{line}";

	if ($s->{sql} =~ $clock_re)
	{
		violation('clock', $fn, $at, "calls " . ($1 // $2) . "; bind one reading of the clock (as_now()) as a parameter");
	}
	next unless $s->{sql} =~ $verb_re;
	my $verb = uc($1);
	# a WITH that starts by inserting is an INSERT (create_session writes a
	# session and its scopes row in one statement)
	$verb = 'INSERT' if $verb eq 'WITH' && $s->{sql} =~ /^\s*WITH\s+\w+\s+AS\s*\(\s*INSERT\b/i;
	next unless $s->{sql} =~ $table_re;

	# an INSERT is routed by the values it inserts, unless it reads them
	# from a session table
	if ($verb ne 'INSERT' || $s->{sql} =~ /\bSELECT\b.*\b(?:FROM|JOIN)\s+agent_sessions\.(?:sessions|session_events|session_scopes)\b/is)
	{
		violation('router', $fn, $at, "touches a session table without id = \$n or session_id = \$n, so it runs on every shard")
		  unless routed_by_id($s->{sql});
	}
	if ($s->{sql} =~ /^\s*(?:WITH\b.*)?\b(UPDATE|DELETE)\b/is)
	{
		while ($s->{sql} =~ /\b((?:[a-z_]\w*\.)?([a-z_]\w*))\s*\(/gi)
		{
			my ($qualified, $bare) = (lc $1, lc $2);
			next if $sql_keyword{$bare};
			violation('volatile', $fn, $at, "calls the VOLATILE function $qualified in an UPDATE or DELETE")
			  if $volatile_by_name{$qualified};
		}
	}
}

# ---------------------------------------------------------------------------
# Query trees

# pg_node_tree text -> Perl structure: a node is {_type => 'OPEXPR', field
# => value}, a list is an array, anything else a string.
sub node_tokens
{
	my ($s) = @_;
	my @t;
	my $n = length $s;
	my $i = 0;
	while ($i < $n)
	{
		my $c = substr($s, $i, 1);
		if ($c =~ /\s/) { $i++; next; }
		if ($c =~ /[(){}]/) { push @t, ['p', $c]; $i++; next; }
		my $tok = '';
		while ($i < $n)
		{
			$c = substr($s, $i, 1);
			last if $c =~ /[\s(){}]/;
			if ($c eq '\\') { $tok .= substr($s, $i + 1, 1); $i += 2; next; }
			$tok .= $c;
			$i++;
		}
		push @t, ['a', $tok];
	}
	return \@t;
}

sub parse_node_value
{
	my ($t, $pos) = @_;
	my $tok = $t->[$$pos++];
	if ($tok->[0] eq 'p' && $tok->[1] eq '{')
	{
		my %node = (_type => $t->[$$pos++][1]);
		while (!($t->[$$pos][0] eq 'p' && $t->[$$pos][1] eq '}'))
		{
			my $field = $t->[$$pos++][1];
			$field =~ s/^://;
			my $next = $t->[$$pos];
			if ($next->[0] eq 'p' && ($next->[1] eq '{' || $next->[1] eq '('))
			{
				$node{$field} = parse_node_value($t, $pos);
			}
			else
			{
				my @atoms;
				while (!($t->[$$pos][0] eq 'p' && $t->[$$pos][1] eq '}')
					   && !($t->[$$pos][0] eq 'a' && $t->[$$pos][1] =~ /^:/))
				{
					push @atoms, $t->[$$pos++][1];
				}
				$node{$field} = join(' ', @atoms);
			}
		}
		$$pos++;
		return \%node;
	}
	if ($tok->[0] eq 'p' && $tok->[1] eq '(')
	{
		my @list;
		push @list, parse_node_value($t, $pos)
		  while !($t->[$$pos][0] eq 'p' && $t->[$$pos][1] eq ')');
		$$pos++;
		return \@list;
	}
	return $tok->[1];
}

sub parse_node_tree
{
	my ($text) = @_;
	my $pos = 0;
	return parse_node_value(node_tokens($text), \$pos);
}

# Every node in a tree, pre-order.
sub nodes_in
{
	my ($v, $out) = @_;
	$out //= [];
	if (ref $v eq 'HASH')
	{
		push @$out, $v;
		nodes_in($v->{$_}, $out) for grep { $_ ne '_type' } sort keys %$v;
	}
	elsif (ref $v eq 'ARRAY')
	{
		nodes_in($_, $out) for @$v;
	}
	return $out;
}

sub expr_type
{
	my ($n) = @_;
	return undef unless ref $n eq 'HASH';
	my %field = (PARAM => 'paramtype', VAR => 'vartype', CONST => 'consttype',
				 FUNCEXPR => 'funcresulttype', OPEXPR => 'opresulttype',
				 RELABELTYPE => 'resulttype', COERCEVIAIO => 'resulttype',
				 CASEEXPR => 'casetype', COALESCEEXPR => 'coalescetype',
				 ARRAYEXPR => 'array_typeid', ARRAYCOERCEEXPR => 'resulttype',
				 MINMAXEXPR => 'minmaxtype', SQLVALUEFUNCTION => 'type',
				 SUBSCRIPTINGREF => 'refrestype', FIELDSELECT => 'resulttype',
				 AGGREF => 'aggtype', NULLIFEXPR => 'opresulttype');
	return 16 if $n->{_type} =~ /^(BOOLEXPR|NULLTEST|BOOLEANTEST|SCALARARRAYOPEXPR|DISTINCTEXPR)$/;
	return $n->{$field{$n->{_type}}} if exists $field{$n->{_type}};
	return undef;
}

# The functions one node calls itself (PostgreSQL's check_functions_in_node),
# as [oid or undef, what].
sub node_functions
{
	my ($n) = @_;
	my $t = $n->{_type};
	return ([$n->{funcid}, 'function']) if $t eq 'FUNCEXPR';
	return ([$n->{aggfnoid}, 'aggregate']) if $t eq 'AGGREF';
	return ([$n->{winfnoid}, 'window function']) if $t eq 'WINDOWFUNC';
	if ($t =~ /^(OPEXPR|DISTINCTEXPR|NULLIFEXPR|SCALARARRAYOPEXPR)$/)
	{
		my $f = $n->{opfuncid} || $opcode{$n->{opno}};
		return ([$f, 'operator']);
	}
	if ($t eq 'COERCEVIAIO')
	{
		my $from = expr_type($n->{arg});
		return ([defined $from ? $type{$from}{output} : undef, 'cast'],
				[$type{$n->{resulttype}}{input}, 'cast']);
	}
	if ($t eq 'ROWCOMPAREEXPR')
	{
		my ($kind, @opnos) = @{$n->{opnos}};
		return map { [$opcode{$_}, 'operator'] } @opnos;
	}
	return ();
}

sub describe
{
	my ($f, $what) = @_;
	return "a $what of unknown volatility" unless defined $f && exists $proc{$f};
	return "$proc{$f}{name}()" if $what eq 'function';
	return "$what $proc{$f}{name}()";
}

# 'v', 's' or 'i' for a function oid; unknown counts as volatile.
sub volatility { my ($f) = @_; return defined $f && exists $proc{$f} ? $proc{$f}{volatile} : 'v'; }

# The first mutable (or, with $volatile_only, volatile) function of a tree,
# as text, or undef (PostgreSQL's contain_mutable_functions).
sub first_mutable
{
	my ($tree, $volatile_only) = @_;
	for my $n (@{nodes_in($tree)})
	{
		return 'a SQL value function (CURRENT_TIMESTAMP and the like)'
		  if !$volatile_only && $n->{_type} eq 'SQLVALUEFUNCTION';
		return 'nextval() of a sequence' if $n->{_type} eq 'NEXTVALUEEXPR';
		for my $f (node_functions($n))
		{
			my $v = volatility($f->[0]);
			return describe(@$f) if $v eq 'v' || (!$volatile_only && $v eq 's');
		}
	}
	return undef;
}

# Citus's MasterIrreducibleExpression: CASE/COALESCE over a mutable function,
# or a STABLE function with a column argument.
sub irreducible
{
	my ($n, $found) = @_;
	if (ref $n eq 'ARRAY')
	{
		my $has_var = 0;
		for (@$n) { $has_var = 1 if irreducible($_, $found); }
		return $has_var;
	}
	return 0 unless ref $n eq 'HASH';
	if ($n->{_type} eq 'COALESCEEXPR' || $n->{_type} eq 'CASEEXPR')
	{
		my $m = first_mutable($n->{_type} eq 'COALESCEEXPR' ? $n->{args} : $n, 0);
		push @{$found->{'case-coalesce'}}, "$m inside " . ($n->{_type} eq 'CASEEXPR' ? 'CASE' : 'COALESCE')
		  if defined $m;
		return 0;
	}
	return 1 if $n->{_type} eq 'VAR';
	my $stable;
	for my $f (node_functions($n))
	{
		$stable = describe(@$f) if volatility($f->[0]) eq 's';
	}
	my $has_var = 0;
	for my $k (grep { $_ ne '_type' } keys %$n)
	{
		$has_var = 1 if irreducible($n->{$k}, $found);
	}
	if ($stable && $has_var)
	{
		push @{$found->{'stable-column'}}, "STABLE $stable takes a column";
	}
	return $has_var;
}

sub check_write
{
	my ($q, $fn, $at) = @_;
	my $cmd = $q->{commandType};	# 2 UPDATE, 3 INSERT, 4 DELETE
	my %verb = (2 => 'UPDATE', 3 => 'INSERT', 4 => 'DELETE');
	my $found = {};

	if ($cmd == 2 || $cmd == 4)
	{
		my $v = first_mutable($q, 1);
		violation('volatile', $fn, $at, "$verb{$cmd} calls the VOLATILE $v") if $v;
	}
	if ($cmd == 2)
	{
		for my $te (@{$q->{targetList}})
		{
			next if $te->{resjunk} eq 'true';
			irreducible($te->{expr}, $found);
		}
	}
	my $quals = ref $q->{jointree} eq 'HASH' ? $q->{jointree}{quals} : undef;
	if (ref $quals)
	{
		my $v = first_mutable($quals, 1);
		violation('volatile', $fn, $at, "the WHERE of an $verb{$cmd} calls the VOLATILE $v") if $v;
		irreducible($quals, $found);
	}
	for my $rule (sort keys %$found)
	{
		my %seen;
		violation($rule, $fn, $at, "$verb{$cmd}: $_") for grep { !$seen{$_}++ } @{$found->{$rule}};
	}
	if (ref $q->{returningList})
	{
		my $m = first_mutable($q->{returningList}, 0);
		violation('returning', $fn, $at, "RETURNING calls $m, which is not IMMUTABLE") if $m;
	}
}

my $n = 0;
for my $s (@strings)
{
	next unless $s->{sql} =~ /^\s*(?:WITH\b.*)?\b(UPDATE|INSERT|DELETE)\b/is && $s->{sql} =~ $table_re;
	my $fn = "$s->{file}:$s->{function}";
	my $at = "$s->{file}:$s->{line}";
	$n++;

	my $types = $s->{argtypes};
	unless ($types)
	{
		my $sql = $s->{sql};
		my ($ok, $out, $err) = psql_script(
			"SET search_path = pg_catalog, pg_temp;\n"
			. "PREPARE citus_rules_probe AS $sql;\n"
			. "SELECT array_to_string(parameter_types::text[], ',') FROM pg_prepared_statements;\n");
		if (!$ok)
		{
			my ($first) = $err =~ /(ERROR:[^\n]*)/;
			push @skipped, "$at ($s->{function}): checked as text only: not a complete statement (built at run time?) or its parameter types cannot be inferred: " . ($first // $err);
			next;
		}
		chomp $out;
		$types = [split /,/, $out];
	}
	my ($ok, $out, $err) = psql_script(
		"SET search_path = pg_catalog, pg_temp;\n"
		. "CREATE FUNCTION pg_temp.citus_rules_probe(" . join(', ', @$types) . ")\n"
		. "RETURNS void LANGUAGE sql BEGIN ATOMIC\n$s->{sql};\nEND;\n"
		. "SELECT prosqlbody FROM pg_proc WHERE oid = 'pg_temp.citus_rules_probe'::regproc;\n");
	if (!$ok)
	{
		my ($first) = $err =~ /(ERROR:[^\n]*)/;
		push @skipped, "$at ($s->{function}): checked as text only: does not parse with parameters (" . join(', ', @$types) . "): " . ($first // $err);
		next;
	}
	for my $q (grep { $_->{_type} eq 'QUERY' } @{nodes_in(parse_node_tree($out))})
	{
		next unless $q->{resultRelation} && $q->{resultRelation} > 0;
		my $rte = $q->{rtable}[$q->{resultRelation} - 1];
		check_write($q, $fn, $at) if exists $dist_table{$rte->{relid}};
	}
}
die "found no write to analyse in $src_dir/*.c\n" unless $n;

# ---------------------------------------------------------------------------
# Triggers: none may NOTIFY

for my $r (psql_rows(
	"SELECT t.tgname, t.tgrelid::regclass, l.lanname, p.prosrc
	   FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
	   JOIN pg_language l ON l.oid = p.prolang
	  WHERE NOT t.tgisinternal
		AND t.tgrelid IN (SELECT oid FROM pg_class
						   WHERE relnamespace = 'agent_sessions'::regnamespace)"))
{
	my ($tg, $rel, $lang, $src) = @$r;
	my $fn = "trigger:$tg";
	if ($lang ne 'c')
	{
		violation('trigger-notify', $fn, "$rel", "trigger function sends NOTIFY")
		  if $src =~ /\bnotify\b|pg_notify/i;
		next;
	}
	my ($file) = grep { $c_text{$_} =~ /^\Q$src\E\s*\(PG_FUNCTION_ARGS\)/m } @c_files;
	if (!$file)
	{
		violation('trigger-notify', $fn, "$rel", "C trigger function $src not found in $src_dir");
		next;
	}
	my ($body) = $c_text{$file} =~ /^\Q$src\E\s*\(PG_FUNCTION_ARGS\)\s*\n\{(.*?)^\}/ms;
	(my $short = $file) =~ s{.*/}{};
	$fn = "$short:$src";
	violation('trigger-notify', $fn, $short, "calls $1") if $body =~ /\b(Async_Notify|as_notify_change|pg_notify)\b/;
	violation('trigger-notify', $fn, $short, "records a change without quiet = true, which notifies")
	  if $body =~ /\bas_record_change\b/ && $body !~ /\.quiet\s*=\s*true\b/;
}

# ---------------------------------------------------------------------------
# Policies: only the forms Citus evaluates on its workers

for my $r (psql_rows(
	"SELECT polname, polrelid::regclass, coalesce(polqual::text, ''), coalesce(polwithcheck::text, '')
	   FROM pg_policy
	  WHERE polrelid IN (SELECT oid FROM pg_class
						  WHERE relnamespace = 'agent_sessions'::regnamespace)"))
{
	my ($pol, $rel) = @$r[0, 1];
	for my $expr (grep { $_ ne '' } @$r[2, 3])
	{
		for my $node (@{nodes_in(parse_node_tree($expr))})
		{
			my $t = $node->{_type};
			if (($t eq 'NULLTEST' || $t eq 'BOOLEANTEST') && $node->{arg}{_type} ne 'VAR')
			{
				violation('policy', "policy:$pol", "$rel",
						  ($t eq 'NULLTEST' ? 'IS [NOT] NULL' : 'IS [NOT] TRUE/FALSE/UNKNOWN') . " on a $node->{arg}{_type}, which Citus cannot evaluate on a shard");
			}
			violation('policy', "policy:$pol", "$rel", "a subquery, which Citus cannot evaluate on a shard")
			  if $t eq 'SUBLINK';
			if ($t eq 'FUNCEXPR' && exists $proc{$node->{funcid}}
				&& $proc{$node->{funcid}}{lang} !~ /^(c|internal)$/)
			{
				violation('policy', "policy:$pol", "$rel",
						  "calls $proc{$node->{funcid}}{name}(), a $proc{$node->{funcid}}{lang} function that may read tables (a distributed query from a shard)");
			}
		}
	}
}

# ---------------------------------------------------------------------------
# Verdict

my @known;			# [rule, where, reason, used]
open(my $kh, '<', $known_file) or die "$known_file: $!";
while (<$kh>)
{
	next if /^\s*(#|$)/;
	/^(\S+)\s+(\S+)\s+(.*)$/ or die "$known_file:$.: expected RULE FILE:FUNCTION REASON\n";
	push @known, [$1, $2, $3, 0];
}
close($kh);

my $failed = 0;
for my $v (@violations)
{
	my ($k) = grep { $_->[0] eq $v->[0] && $_->[1] eq $v->[1] } @known;
	if ($k)
	{
		$k->[3]++;
		print "known   $v->[0] $v->[2] ($v->[1]): $v->[3]\n";
	}
	else
	{
		$failed++;
		print "FAIL    $v->[0] $v->[2] ($v->[1]): $v->[3]\n";
	}
}
for my $k (grep { !$_->[3] } @known)
{
	$failed++;
	print "FAIL    stale entry in $known_file: $k->[0] $k->[1] matches nothing; remove it\n";
}
print "skipped $_\n" for @skipped;
printf "%d SQL strings in %d files, %d writes analysed, %d findings, %d listed as known\n",
  scalar(@strings), scalar(@c_files), $n - @skipped, scalar(@violations),
  scalar(grep { $_->[3] } @known);
exit($failed ? 1 : 0);
