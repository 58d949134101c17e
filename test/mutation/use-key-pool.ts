import { usePool } from './key-pool';

usePool();
